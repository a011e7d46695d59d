//! Prints decoder throughput (run with `--ignored --nocapture`); asserts nothing about speed.

#[test]
#[ignore = "measurement, not a test; run explicitly"]
fn print_throughput() {
    let rw = vigia_bench::parsers::remote_write_throughput(10_000, 10, 5);
    println!("{rw:?}");
    let tf = vigia_bench::parsers::textformat_throughput(100_000, 5);
    println!("{tf:?}");
    assert!(rw.samples > 0 && tf.samples > 0);
}
