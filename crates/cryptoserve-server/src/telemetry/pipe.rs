//! The log pipe: finished lines from request threads to one writer thread, in batches.
//!
//! A line is appended to one shared buffer under a mutex (a `memcpy`, no allocation). The
//! writer thread sleeps until a line arrives in an empty buffer, lets lines gather for
//! [`GATHER`], takes the whole buffer and writes it with one `write` to its output. Request
//! threads therefore wake the writer once per batch, not once per line, and never wait for
//! stderr, until [`HIGH_WATER`] bytes are queued: then they wait for the writer rather than
//! lose lines (a consumer that stops reading stderr stalls requests, as before).
//!
//! JSON lines get `"instance_id":"..."` put first as they are appended (see [`LogPipe::new`]).

use std::io::Write;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

/// Queued bytes beyond which appending waits for the writer thread.
const HIGH_WATER: usize = 8 << 20;
/// How long the writer lets lines gather after the first one of a batch arrives.
const GATHER: Duration = Duration::from_millis(2);
/// The batch buffer kept between batches; a larger one (after a burst) is given back.
const KEEP_CAPACITY: usize = 256 * 1024;

#[derive(Debug, Default)]
struct Queue {
    lines: Vec<u8>,
    closed: bool,
}

#[derive(Debug, Default)]
struct Shared {
    queue: Mutex<Queue>,
    /// Signalled when a line lands in an empty queue, and on close.
    arrived: Condvar,
    /// Signalled when the writer took the queue.
    taken: Condvar,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Queue> {
        // A panic while holding the lock leaves at worst a partial line: keep logging.
        self.queue.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The appending end; cheap to clone. Also a `MakeWriter` for tracing's formatters, which
/// write each formatted event with one `write` call.
#[derive(Debug, Clone)]
pub struct LogPipe {
    shared: Arc<Shared>,
    /// `{"instance_id":"...",` for JSON lines, in place of their opening brace.
    json_prefix: Option<Arc<[u8]>>,
}

/// The writer thread; dropping it writes out every queued line and stops the thread. Lines
/// appended after that go straight to stderr.
#[derive(Debug)]
pub struct PipeWriter {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

impl LogPipe {
    /// A pipe whose writer thread writes to `out`. With `instance_id`, every line that is a JSON
    /// object gets `"instance_id"` as its first member.
    pub fn new(
        instance_id: Option<&str>,
        out: impl Write + Send + 'static,
    ) -> std::io::Result<(LogPipe, PipeWriter)> {
        let shared = Arc::new(Shared::default());
        let thread = std::thread::Builder::new()
            .name("cryptoserve-log".into())
            .spawn({
                let shared = shared.clone();
                move || write_batches(&shared, out)
            })?;
        let json_prefix = instance_id.map(|id| {
            let id = serde_json::to_string(id).unwrap_or_else(|_| "\"unknown\"".into());
            Arc::from(format!("{{\"instance_id\":{id},").into_bytes())
        });
        let pipe = LogPipe {
            shared: shared.clone(),
            json_prefix,
        };
        Ok((
            pipe,
            PipeWriter {
                shared,
                thread: Some(thread),
            },
        ))
    }

    /// Queues one complete line (with its newline).
    pub fn append(&self, line: &[u8]) {
        let mut queue = self.shared.lock();
        while queue.lines.len() >= HIGH_WATER && !queue.closed {
            queue = self
                .shared
                .taken
                .wait(queue)
                .unwrap_or_else(PoisonError::into_inner);
        }
        if queue.closed {
            drop(queue);
            let _ = std::io::stderr().write_all(line);
            return;
        }
        let was_empty = queue.lines.is_empty();
        match (&self.json_prefix, line.strip_prefix(b"{")) {
            (Some(prefix), Some(rest)) => {
                queue.lines.extend_from_slice(prefix);
                queue.lines.extend_from_slice(rest);
            }
            _ => queue.lines.extend_from_slice(line),
        }
        drop(queue);
        if was_empty {
            self.shared.arrived.notify_one();
        }
    }
}

fn write_batches(shared: &Shared, mut out: impl Write) {
    let mut batch = Vec::with_capacity(KEEP_CAPACITY);
    loop {
        let mut queue = shared.lock();
        while queue.lines.is_empty() && !queue.closed {
            queue = shared
                .arrived
                .wait(queue)
                .unwrap_or_else(PoisonError::into_inner);
        }
        if queue.lines.is_empty() {
            return; // closed and drained
        }
        if !queue.closed {
            drop(queue);
            std::thread::sleep(GATHER);
            queue = shared.lock();
        }
        std::mem::swap(&mut queue.lines, &mut batch);
        drop(queue);
        shared.taken.notify_all();
        // Nowhere to report a failed write to stderr; the next batch tries again.
        let _ = out.write_all(&batch).and_then(|()| out.flush());
        batch.clear();
        if batch.capacity() > KEEP_CAPACITY {
            batch = Vec::with_capacity(KEEP_CAPACITY);
        }
    }
}

impl Drop for PipeWriter {
    fn drop(&mut self) {
        self.shared.lock().closed = true;
        self.shared.arrived.notify_one();
        self.shared.taken.notify_all();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// What tracing's formatters write one event into.
#[derive(Debug)]
pub struct EventWriter<'a>(&'a LogPipe);

impl Write for EventWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.append(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for LogPipe {
    type Writer = EventWriter<'a>;

    fn make_writer(&'a self) -> Self::Writer {
        EventWriter(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An output the test can read after the writer stopped.
    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl Write for Captured {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn every_line_arrives_in_order_tagged_when_json() {
        let out = Captured::default();
        let (pipe, writer) = LogPipe::new(Some("node-\"7\""), out.clone()).unwrap();
        let threads: Vec<_> = (0..4)
            .map(|t| {
                let pipe = pipe.clone();
                std::thread::spawn(move || {
                    for i in 0..2_000 {
                        pipe.append(format!("{{\"t\":{t},\"i\":{i}}}\n").as_bytes());
                    }
                })
            })
            .collect();
        pipe.append(b"plain line\n");
        for thread in threads {
            thread.join().unwrap();
        }
        drop(writer);
        let text = String::from_utf8(out.0.lock().unwrap().clone()).unwrap();
        let mut next = [0u64; 4];
        let mut plain = 0;
        for line in text.lines() {
            if line == "plain line" {
                plain += 1;
                continue;
            }
            let value: serde_json::Value = serde_json::from_str(line).unwrap();
            assert_eq!(value["instance_id"], "node-\"7\"", "{line}");
            assert!(line.starts_with("{\"instance_id\":"), "{line}");
            let t = value["t"].as_u64().unwrap() as usize;
            assert_eq!(value["i"].as_u64().unwrap(), next[t], "per-thread order");
            next[t] += 1;
        }
        assert_eq!(next, [2_000; 4]);
        assert_eq!(plain, 1);
    }

    #[test]
    fn a_stalled_output_makes_appenders_wait_not_lose_lines() {
        /// Blocks every write until the gate opens.
        struct Gated(Arc<(Mutex<bool>, Condvar)>, Captured);
        impl Write for Gated {
            fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
                let (open, cv) = &*self.0;
                let mut open = open.lock().unwrap();
                while !*open {
                    open = cv.wait(open).unwrap();
                }
                self.1.write(buf)
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let gate = Arc::new((Mutex::new(false), Condvar::new()));
        let out = Captured::default();
        let (pipe, writer) = LogPipe::new(None, Gated(gate.clone(), out.clone())).unwrap();
        let line = vec![b'x'; 1023]
            .into_iter()
            .chain([b'\n'])
            .collect::<Vec<_>>();
        let lines = 3 * HIGH_WATER / line.len();
        let appender = std::thread::spawn({
            let pipe = pipe.clone();
            let line = line.clone();
            move || {
                for _ in 0..lines {
                    pipe.append(&line);
                }
            }
        });
        std::thread::sleep(Duration::from_millis(200));
        assert!(
            !appender.is_finished(),
            "appending must wait while stderr is stalled"
        );
        {
            let (open, cv) = &*gate;
            *open.lock().unwrap() = true;
            cv.notify_all();
        }
        appender.join().unwrap();
        drop(writer);
        assert_eq!(out.0.lock().unwrap().len(), lines * line.len());
    }
}
