//! Property tests: no decoder panics on arbitrary input, and text-format output that we render
//! ourselves parses back to the same samples.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use proptest::prelude::*;
use vigia_ingest::{Limits, influx, remote_write, textformat, vmjson};

fn exposition_like() -> impl Strategy<Value = String> {
    // Strings drawn from the characters that matter to the grammars.
    proptest::collection::vec(
        prop_oneof![
            Just("# HELP ".to_string()),
            Just("# TYPE ".to_string()),
            Just("# EOF".to_string()),
            Just("{".to_string()),
            Just("}".to_string()),
            Just("=\"".to_string()),
            Just("\\".to_string()),
            Just("\"".to_string()),
            Just(",".to_string()),
            Just(" ".to_string()),
            Just("\n".to_string()),
            Just("NaN".to_string()),
            Just("+Inf".to_string()),
            "[a-z_]{1,6}",
            "-?[0-9]{1,5}(\\.[0-9]{1,3})?",
        ],
        0..40,
    )
    .prop_map(|v| v.concat())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn text_parser_never_panics(s in exposition_like(), raw in proptest::collection::vec(any::<u8>(), 0..200)) {
        let lim = Limits::default();
        let _ = textformat::parse(s.as_bytes(), None, 0, &lim);
        let _ = textformat::parse(s.as_bytes(), Some("application/openmetrics-text"), 0, &lim);
        let _ = textformat::parse(&raw, None, 0, &lim);
        let _ = textformat::parse(&raw, Some("application/openmetrics-text"), 0, &lim);
    }

    #[test]
    fn other_decoders_never_panic(s in exposition_like(), raw in proptest::collection::vec(any::<u8>(), 0..200)) {
        let lim = Limits::default();
        let _ = influx::parse(s.as_bytes(), influx::Precision::Ns, 0, &lim);
        let _ = influx::parse(&raw, influx::Precision::S, 0, &lim);
        let _ = vmjson::parse_import(&raw, &lim);
        let _ = vmjson::parse_import(s.as_bytes(), &lim);
        let _ = remote_write::decode(&raw, &lim);
        let _ = remote_write::decode_uncompressed(&raw, &lim);
    }

    #[test]
    fn mutated_valid_bodies_never_panic(
        flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..8),
        cut in any::<usize>(),
    ) {
        use vigia_model::{Labels, Sample, SeriesSamples};
        let series: Vec<SeriesSamples> = (0..5)
            .map(|i| SeriesSamples {
                labels: Labels::from_pairs([("__name__", "m".to_string()), ("i", i.to_string())]),
                samples: vec![Sample::new(i, i as f64)],
            })
            .collect();
        let lim = Limits::default();
        let mut rw = remote_write::encode(&series);
        let mut text = b"# TYPE m counter\nm{a=\"b\",c=\"d\"} 1 2\nn 3\n# EOF\n".to_vec();
        let mut lp = b"cpu,host=a\\ b f=1,s=\"x\" 10\ncpu g=2i\n".to_vec();
        for (pos, byte) in &flips {
            for body in [&mut rw, &mut text, &mut lp] {
                let n = body.len();
                body[pos % n] = *byte;
            }
        }
        let _ = remote_write::decode(&rw, &lim);
        let _ = remote_write::decode(&rw[..cut % (rw.len() + 1)], &lim);
        let _ = textformat::parse(&text, Some("application/openmetrics-text"), 0, &lim);
        let _ = textformat::parse(&text[..cut % (text.len() + 1)], None, 0, &lim);
        let _ = influx::parse(&lp, influx::Precision::Ns, 0, &lim);
        let _ = influx::parse(&lp[..cut % (lp.len() + 1)], influx::Precision::Ns, 0, &lim);
    }

    #[test]
    fn rendered_samples_parse_back(
        name in "[a-zA-Z_:][a-zA-Z0-9_:]{0,10}",
        value_label in "[ -~\n]{0,12}",
        v in any::<f64>(),
        t in any::<i64>(),
    ) {
        let esc = value_label.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n");
        let vs = if v.is_nan() { "NaN".to_string() } else if v.is_infinite() { if v > 0.0 { "+Inf".into() } else { "-Inf".into() } } else { format!("{v:?}") };
        let body = format!("{name}{{l=\"{esc}\"}} {vs} {t}\n");
        let d = textformat::parse(body.as_bytes(), None, 0, &Limits::default()).unwrap();
        prop_assert_eq!(d.series.len(), 1);
        let s = &d.series[0];
        prop_assert_eq!(s.labels.metric_name(), Some(name.as_str()));
        prop_assert_eq!(s.labels.get("l").unwrap_or(""), value_label.as_str());
        prop_assert_eq!(s.samples[0].t, t);
        prop_assert!(s.samples[0].v == v || (v.is_nan() && s.samples[0].v.is_nan()));
    }
}
