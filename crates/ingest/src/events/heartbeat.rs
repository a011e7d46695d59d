//! The heartbeat: the current value of every event series written again at later times, as a
//! scrape would, so counters stay visible to instant queries between events.

use super::EventsIngestor;
use crate::IngestError;
use vigia_model::{Appender, Sample, SeriesSamples};

impl EventsIngestor {
    /// Writes the current value of every series at `t_ms` (those whose last sample is older),
    /// as a scrape would: counters stay visible to instant queries between events. The server
    /// calls it every minute; the demo once per simulated step.
    pub fn heartbeat(&self, t_ms: i64, appender: &dyn Appender) -> Result<usize, IngestError> {
        let batch: Vec<SeriesSamples> = {
            let mut st = self.state.lock();
            st.values
                .iter_mut()
                .filter(|(_, (last, _))| *last < t_ms)
                .map(|(l, (last, v))| {
                    *last = t_ms;
                    SeriesSamples {
                        labels: l.clone(),
                        samples: vec![Sample::new(t_ms, *v)],
                    }
                })
                .collect()
        };
        if batch.is_empty() {
            return Ok(0);
        }
        appender
            .append(&batch)
            .map_err(|e| IngestError::Storage(e.to_string()))?;
        Ok(batch.len())
    }

    /// Repeats every series' current value at each multiple of `step_ms` in `[from_ms, to_ms)`
    /// after its last sample, in one append (the heartbeat over a replayed range).
    pub fn heartbeat_range(
        &self,
        from_ms: i64,
        to_ms: i64,
        step_ms: i64,
        appender: &dyn Appender,
    ) -> Result<usize, IngestError> {
        if step_ms <= 0 {
            return Ok(0);
        }
        let batch: Vec<SeriesSamples> = {
            let mut st = self.state.lock();
            st.values
                .iter_mut()
                .filter_map(|(l, (last, v))| {
                    let mut k = ((*last).max(from_ms - 1).div_euclid(step_ms) + 1) * step_ms;
                    let mut samples = Vec::new();
                    while k < to_ms && samples.len() < 100_000 {
                        samples.push(Sample::new(k, *v));
                        *last = k;
                        k += step_ms;
                    }
                    (!samples.is_empty()).then(|| SeriesSamples {
                        labels: l.clone(),
                        samples,
                    })
                })
                .collect()
        };
        let n = batch.iter().map(|s| s.samples.len()).sum();
        if n > 0 {
            appender
                .append(&batch)
                .map_err(|e| IngestError::Storage(e.to_string()))?;
        }
        Ok(n)
    }
}
