//! Prometheus remote_write 1.0: snappy block-compressed protobuf `WriteRequest`s.
//!
//! The protobuf messages are written by hand with `prost` derives (no protoc). Decoding checks
//! the announced decompressed size before decompressing, validates every series and rejects the
//! whole request when any series is invalid, naming it (Prometheus answers 400 for these).

use crate::validate::{check_pairs, into_labels, render_pairs};
use crate::{Decoded, IngestError, Limits, MetricMetadata};
use vigia_model::{Label, Sample, SeriesSamples};

/// Largest decompressed request accepted, checked before decompressing.
pub const MAX_DECOMPRESSED_BYTES: usize = 64 << 20;

/// Protobuf messages of the remote_write 1.0 protocol (`prometheus/prompb`).
pub mod pb {
    /// `prometheus.WriteRequest`.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct WriteRequest {
        /// Series with their samples.
        #[prost(message, repeated, tag = "1")]
        pub timeseries: Vec<TimeSeries>,
        /// Metric metadata.
        #[prost(message, repeated, tag = "3")]
        pub metadata: Vec<MetricMetadata>,
    }

    /// `prometheus.TimeSeries` (exemplars and native histograms are skipped as unknown fields).
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct TimeSeries {
        /// Label pairs; should be sorted by name.
        #[prost(message, repeated, tag = "1")]
        pub labels: Vec<Label>,
        /// Float samples.
        #[prost(message, repeated, tag = "2")]
        pub samples: Vec<Sample>,
    }

    /// `prometheus.Label`.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Label {
        /// Name.
        #[prost(string, tag = "1")]
        pub name: String,
        /// Value.
        #[prost(string, tag = "2")]
        pub value: String,
    }

    /// `prometheus.Sample`.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Sample {
        /// Value.
        #[prost(double, tag = "1")]
        pub value: f64,
        /// Milliseconds since the epoch.
        #[prost(int64, tag = "2")]
        pub timestamp: i64,
    }

    /// `prometheus.MetricMetadata`.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct MetricMetadata {
        /// Metric type.
        #[prost(enumeration = "MetricType", tag = "1")]
        pub r#type: i32,
        /// Family name.
        #[prost(string, tag = "2")]
        pub metric_family_name: String,
        /// Help text.
        #[prost(string, tag = "4")]
        pub help: String,
        /// Unit.
        #[prost(string, tag = "5")]
        pub unit: String,
    }

    /// `prometheus.MetricMetadata.MetricType`.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
    #[repr(i32)]
    pub enum MetricType {
        /// unknown
        Unknown = 0,
        /// counter
        Counter = 1,
        /// gauge
        Gauge = 2,
        /// histogram
        Histogram = 3,
        /// gaugehistogram
        Gaugehistogram = 4,
        /// summary
        Summary = 5,
        /// info
        Info = 6,
        /// stateset
        Stateset = 7,
    }
}

fn type_name(t: i32) -> &'static str {
    match pb::MetricType::try_from(t) {
        Ok(pb::MetricType::Counter) => "counter",
        Ok(pb::MetricType::Gauge) => "gauge",
        Ok(pb::MetricType::Histogram) => "histogram",
        Ok(pb::MetricType::Gaugehistogram) => "gaugehistogram",
        Ok(pb::MetricType::Summary) => "summary",
        Ok(pb::MetricType::Info) => "info",
        Ok(pb::MetricType::Stateset) => "stateset",
        Ok(pb::MetricType::Unknown) | Err(_) => "unknown",
    }
}

fn type_code(kind: &str) -> pb::MetricType {
    match kind {
        "counter" => pb::MetricType::Counter,
        "gauge" => pb::MetricType::Gauge,
        "histogram" => pb::MetricType::Histogram,
        "gaugehistogram" => pb::MetricType::Gaugehistogram,
        "summary" => pb::MetricType::Summary,
        "info" => pb::MetricType::Info,
        "stateset" => pb::MetricType::Stateset,
        _ => pb::MetricType::Unknown,
    }
}

/// Decodes a snappy-compressed remote_write 1.0 body.
pub fn decode(snappy_body: &[u8], limits: &Limits) -> Result<Decoded, IngestError> {
    let len =
        snap::raw::decompress_len(snappy_body).map_err(|e| IngestError::Snappy(e.to_string()))?;
    if len > MAX_DECOMPRESSED_BYTES {
        return Err(IngestError::TooLarge {
            what: "decompressed body bytes",
            got: len,
            limit: MAX_DECOMPRESSED_BYTES,
        });
    }
    #[allow(clippy::disallowed_methods)] // the decompressed length was checked just above
    let raw = snap::raw::Decoder::new()
        .decompress_vec(snappy_body)
        .map_err(|e| IngestError::Snappy(e.to_string()))?;
    decode_uncompressed(&raw, limits)
}

/// Decodes an already decompressed `WriteRequest`.
pub fn decode_uncompressed(raw: &[u8], limits: &Limits) -> Result<Decoded, IngestError> {
    let req = <pb::WriteRequest as prost::Message>::decode(raw)
        .map_err(|e| IngestError::Protobuf(e.to_string()))?;
    limits.check_series(req.timeseries.len())?;
    let total: usize = req.timeseries.iter().map(|t| t.samples.len()).sum();
    limits.check_samples(total)?;
    let mut series = Vec::with_capacity(req.timeseries.len());
    for ts in req.timeseries {
        let mut pairs: Vec<Label> = ts
            .labels
            .into_iter()
            .map(|l| Label {
                name: l.name,
                value: l.value,
            })
            .collect();
        if let Err(reason) = check_pairs(&mut pairs, limits) {
            return Err(IngestError::InvalidSeries {
                series: render_pairs(&pairs),
                reason,
            });
        }
        let labels = into_labels(pairs);
        if ts.samples.is_empty() {
            continue;
        }
        let samples = ts
            .samples
            .into_iter()
            .map(|s| Sample::new(s.timestamp, s.value))
            .collect();
        series.push(SeriesSamples { labels, samples });
    }
    let metadata = req
        .metadata
        .into_iter()
        .map(|m| MetricMetadata {
            metric: m.metric_family_name,
            kind: type_name(m.r#type).to_string(),
            help: m.help,
            unit: m.unit,
        })
        .collect();
    Ok(Decoded { series, metadata })
}

/// Encodes series (and optionally metadata) as a snappy-compressed `WriteRequest`.
pub fn encode_with_metadata(series: &[SeriesSamples], metadata: &[MetricMetadata]) -> Vec<u8> {
    let req = pb::WriteRequest {
        timeseries: series
            .iter()
            .map(|s| pb::TimeSeries {
                labels: s
                    .labels
                    .iter()
                    .map(|l| pb::Label {
                        name: l.name.clone(),
                        value: l.value.clone(),
                    })
                    .collect(),
                samples: s
                    .samples
                    .iter()
                    .map(|x| pb::Sample {
                        value: x.v,
                        timestamp: x.t,
                    })
                    .collect(),
            })
            .collect(),
        metadata: metadata
            .iter()
            .map(|m| pb::MetricMetadata {
                r#type: type_code(&m.kind) as i32,
                metric_family_name: m.metric.clone(),
                help: m.help.clone(),
                unit: m.unit.clone(),
            })
            .collect(),
    };
    let raw = prost::Message::encode_to_vec(&req);
    // Only fails for inputs beyond snappy's ~4 GiB block limit, which no caller produces.
    snap::raw::Encoder::new()
        .compress_vec(&raw)
        .unwrap_or_default()
}

/// Encodes series as a snappy-compressed `WriteRequest` (for tests, benchmarks and clients).
pub fn encode(series: &[SeriesSamples]) -> Vec<u8> {
    encode_with_metadata(series, &[])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorKind;
    use prost::Message;
    use vigia_model::HasKind;
    use vigia_model::Labels;

    fn raw_req(labels: &[(&str, &str)]) -> Vec<u8> {
        let req = pb::WriteRequest {
            timeseries: vec![pb::TimeSeries {
                labels: labels
                    .iter()
                    .map(|(n, v)| pb::Label {
                        name: n.to_string(),
                        value: v.to_string(),
                    })
                    .collect(),
                samples: vec![pb::Sample {
                    value: 1.0,
                    timestamp: 1000,
                }],
            }],
            metadata: vec![],
        };
        snap::raw::Encoder::new()
            .compress_vec(&req.encode_to_vec())
            .unwrap()
    }

    #[test]
    fn roundtrip_with_metadata_and_special_values() {
        let series = vec![
            SeriesSamples {
                labels: Labels::from_pairs([("__name__", "http_requests_total"), ("job", "api")]),
                samples: vec![Sample::new(1000, 1.5), Sample::new(2000, f64::INFINITY)],
            },
            SeriesSamples {
                labels: Labels::from_pairs([("__name__", "up")]),
                samples: vec![Sample::new(-5, vigia_model::stale_nan())],
            },
        ];
        let md = vec![MetricMetadata {
            metric: "http_requests_total".into(),
            kind: "counter".into(),
            help: "Requests.".into(),
            unit: "".into(),
        }];
        let body = encode_with_metadata(&series, &md);
        let got = decode(&body, &Limits::default()).unwrap();
        assert_eq!(got.metadata, md);
        assert_eq!(got.series.len(), 2);
        assert_eq!(got.series[0], series[0]);
        assert!(got.series[1].samples[0].bit_eq(&series[1].samples[0]));
    }

    #[test]
    fn unsorted_labels_are_sorted() {
        let got = decode(
            &raw_req(&[("zone", "a"), ("__name__", "x"), ("job", "j")]),
            &Limits::default(),
        )
        .unwrap();
        assert_eq!(got.series[0].labels.to_string(), "x{job=\"j\", zone=\"a\"}");
    }

    #[test]
    fn malformed_inputs() {
        let lim = Limits::default();
        let good = encode(&[SeriesSamples {
            labels: Labels::from_pairs([("__name__", "x")]),
            samples: vec![Sample::new(1, 1.0)],
        }]);
        // A snappy header announcing 100 MiB.
        let mut huge = Vec::new();
        let mut n: u64 = 100 << 20;
        while n >= 0x80 {
            huge.push((n as u8) | 0x80);
            n >>= 7;
        }
        huge.push(n as u8);
        huge.extend_from_slice(&[0, 1, 2]);
        let bad_utf8 = {
            // Label{name="__name__", value=0xff 0xfe} inside a TimeSeries inside a WriteRequest.
            let label = [&[0x0a, 8][..], b"__name__", &[0x12, 2, 0xff, 0xfe]].concat();
            let ts = [&[0x0a, label.len() as u8][..], &label].concat();
            let req = [&[0x0a, ts.len() as u8][..], &ts].concat();
            snap::raw::Encoder::new().compress_vec(&req).unwrap()
        };
        let cases: Vec<(&str, Vec<u8>, ErrorKind, &str)> = vec![
            ("empty body", vec![], ErrorKind::BadData, "snappy"),
            (
                "truncated snappy",
                good[..good.len() - 3].to_vec(),
                ErrorKind::BadData,
                "snappy",
            ),
            (
                "not snappy",
                b"\xff\xff\xff\xff\xff\xff".to_vec(),
                ErrorKind::BadData,
                "snappy",
            ),
            (
                "announced too large",
                huge,
                ErrorKind::TooLarge,
                "decompressed",
            ),
            (
                "bad protobuf",
                snap::raw::Encoder::new()
                    .compress_vec(b"\x0a\xff\xff\xff")
                    .unwrap(),
                ErrorKind::BadData,
                "protobuf",
            ),
            ("invalid utf-8", bad_utf8, ErrorKind::BadData, "protobuf"),
            (
                "no metric name",
                raw_req(&[("job", "a")]),
                ErrorKind::BadData,
                "missing metric name",
            ),
            (
                "bad metric name",
                raw_req(&[("__name__", "1abc")]),
                ErrorKind::BadData,
                "invalid metric name",
            ),
            (
                "bad label name",
                raw_req(&[("__name__", "x"), ("a.b", "1")]),
                ErrorKind::BadData,
                "invalid label name",
            ),
            (
                "duplicate label",
                raw_req(&[("__name__", "x"), ("a", "1"), ("a", "2")]),
                ErrorKind::BadData,
                "duplicate",
            ),
        ];
        for (name, body, kind, needle) in cases {
            let err = decode(&body, &lim).expect_err(name);
            assert_eq!(err.kind(), kind, "{name}: {err}");
            assert!(err.to_string().contains(needle), "{name}: {err}");
        }
        let err = decode(&raw_req(&[("__name__", "x"), ("a.b", "1")]), &lim).unwrap_err();
        assert!(err.to_string().contains("x{a.b=\"1\"}"), "{err}");
    }

    #[test]
    fn limits() {
        let series: Vec<SeriesSamples> = (0..3)
            .map(|i| SeriesSamples {
                labels: Labels::from_pairs([("__name__", "x"), ("i", &*i.to_string())]),
                samples: vec![Sample::new(1, 1.0), Sample::new(2, 2.0)],
            })
            .collect();
        let body = encode(&series);
        let e = decode(
            &body,
            &Limits {
                max_series_per_request: 2,
                ..Limits::default()
            },
        )
        .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::TooLarge);
        let e = decode(
            &body,
            &Limits {
                max_samples_per_request: 5,
                ..Limits::default()
            },
        )
        .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::TooLarge);
        let e = decode(
            &body,
            &Limits {
                max_label_count: 1,
                ..Limits::default()
            },
        )
        .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::BadData);
        assert_eq!(decode(&body, &Limits::default()).unwrap().sample_count(), 6);
    }
}
