//! Traces the adaptive-resonance detector over one CSV (`timestamp,value`) between two rows.
//! Usage: `art_trace FILE.csv FROM TO [LEARN_SAMPLES]`

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(file), Some(from), Some(to)) = (args.first(), args.get(1), args.get(2)) else {
        return Err("usage: art_trace FILE.csv FROM TO [LEARN_SAMPLES]".into());
    };
    let (from, to): (usize, usize) = (from.parse()?, to.parse()?);
    let mut cfg = vigia_ml::ArtConfig::default();
    if let Some(l) = args.get(3) {
        cfg.learn_samples = l.parse()?;
    }
    let text = std::fs::read_to_string(file)?;
    let mut d = vigia_ml::ArtDetector::new(&cfg);
    for (i, line) in text.lines().skip(1).enumerate() {
        let Some(v) = line
            .split(',')
            .nth(1)
            .and_then(|v| v.trim().parse::<f64>().ok())
        else {
            continue;
        };
        let s = d.update(v);
        if (from..=to).contains(&i) && (s > 0.0 || i % cfg.downsample() as usize == 0) {
            println!("{i} v {v} score {s:.3} {}", d.trace());
        }
    }
    Ok(())
}
