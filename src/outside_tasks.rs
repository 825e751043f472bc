//! Requests as tasks that the JS shim drives: a task runs until it awaits something only the
//! runtime can finish (a fetch, a body read, a cache lookup), hands that promise out, and is
//! resumed with its outcome once the shim has awaited it.
//!
//! Why not wasm-bindgen-futures (tried again for issue 28: bench/futures-spike/). It is unsound
//! here: after a panic the shim replaces the instance under the same glue module, and
//! wasm-bindgen's closures (two per await) call, and are cleaned up, through the glue's one
//! `wasm`, so a dead instance's closure runs against the new instance's memory (seen in the
//! panic e2e test). And it costs more: +7 to +16 % instructions per request kind in workerd.
//! Here an await is one value handed out and one handed back, and a dead instance's task is
//! never stepped again. `scripts/bundle.mjs` fails the build if the glue makes closures.
//!
//! Generic over the handle and the outcome so that the driver is tested natively; the binding
//! uses it with `Promise` and `Result<JsValue, JsValue>`. One await at a time per task (one
//! slot): the core never joins or selects two runtime promises, and a task that did would panic
//! at its first poll rather than hand one outcome to the other's future.

use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

/// A task older than this is dropped when another starts: its promise never settled (the
/// runtime ended the request), and nothing else would free it (wasm-bindgen-futures left that
/// to the garbage collector). A task lives only until the upstream's headers are in, and ESA
/// cuts a request at 120 s; a later resume gets a 500 ("task lost").
pub(crate) const MAX_TASK_SECS: u64 = 180;

enum Slot<H, V> {
    Empty,
    /// What the task just awaited, for the driver to hand out.
    Awaiting(H),
    /// The outcome the driver was given, for the awaiting task to take.
    Settled(V),
}

/// Awaits `handle` outside: ready with the outcome the driver resumes the task with.
pub(crate) struct Outside<H, V> {
    handle: Option<H>,
    slot: Rc<RefCell<Slot<H, V>>>,
}

impl<H: Unpin, V: Unpin> Future for Outside<H, V> {
    type Output = V;

    fn poll(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<V> {
        let this = self.get_mut();
        let mut slot = this.slot.borrow_mut();
        if let Some(h) = this.handle.take() {
            // One slot: a task awaits one runtime promise at a time. A second await in the same
            // poll (a join or select of two) would take the other's outcome; it fails loudly
            // instead (a panic: a 500 and a fresh instance).
            assert!(
                matches!(*slot, Slot::Empty),
                "a task awaited two runtime promises at once (join/select): outside_tasks \
                 drives one await at a time"
            );
            *slot = Slot::Awaiting(h);
            return Poll::Pending;
        }
        match std::mem::replace(&mut *slot, Slot::Empty) {
            Slot::Settled(v) => Poll::Ready(v),
            other => {
                *slot = other;
                Poll::Pending
            }
        }
    }
}

/// What a step ended in.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Step<H, O> {
    /// The task finished (and is gone).
    Done(O),
    /// The task awaits this; resume it with the outcome.
    Awaiting(H),
}

/// Why a step could not run.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum StepError {
    /// No such task: it finished, was dropped as stale, or belongs to an older instance.
    Lost,
    /// The task waited on something that was not `Outside` (nothing would ever wake it).
    Stalled,
}

type Task<O> = Pin<Box<dyn Future<Output = O>>>;

struct Entry<O> {
    started: u64,
    /// Whether the task has handed out a handle and needs an outcome to go on.
    awaiting: bool,
    task: Option<Task<O>>,
}

pub(crate) struct Driver<H, V, O> {
    slot: Rc<RefCell<Slot<H, V>>>,
    tasks: RefCell<Vec<Option<Entry<O>>>>,
}

impl<H: Unpin, V: Unpin, O> Driver<H, V, O> {
    pub(crate) fn new() -> Self {
        Self {
            slot: Rc::new(RefCell::new(Slot::Empty)),
            tasks: RefCell::new(Vec::new()),
        }
    }

    /// A future a task awaits `handle` with.
    pub(crate) fn outside(&self, handle: H) -> Outside<H, V> {
        Outside {
            handle: Some(handle),
            slot: self.slot.clone(),
        }
    }

    /// Registers a task (not yet polled: the first `step` runs it); `now` in seconds.
    pub(crate) fn start(&self, task: impl Future<Output = O> + 'static, now: u64) -> u32 {
        let mut tasks = self.tasks.borrow_mut();
        for e in tasks.iter_mut() {
            if e.as_ref()
                .is_some_and(|e| now.saturating_sub(e.started) > MAX_TASK_SECS)
            {
                *e = None;
            }
        }
        let entry = Entry {
            started: now,
            awaiting: false,
            task: Some(Box::pin(task)),
        };
        match tasks.iter().position(Option::is_none) {
            Some(i) => {
                tasks[i] = Some(entry);
                i as u32
            }
            None => {
                tasks.push(Some(entry));
                (tasks.len() - 1) as u32
            }
        }
    }

    /// Runs task `id` until it finishes or awaits: the first time with no outcome, afterwards
    /// with the outcome of what it awaited.
    pub(crate) fn step(&self, id: u32, outcome: V) -> Result<Step<H, O>, StepError> {
        let (awaiting, mut task) = {
            let mut tasks = self.tasks.borrow_mut();
            let entry = tasks
                .get_mut(id as usize)
                .and_then(Option::as_mut)
                .ok_or(StepError::Lost)?;
            // Taken out while it runs: the slab is free for anything the task calls.
            (entry.awaiting, entry.task.take().ok_or(StepError::Lost)?)
        };
        *self.slot.borrow_mut() = if awaiting {
            Slot::Settled(outcome)
        } else {
            Slot::Empty
        };
        let polled = task.as_mut().poll(&mut Context::from_waker(Waker::noop()));
        let handed_out = std::mem::replace(&mut *self.slot.borrow_mut(), Slot::Empty);
        let mut tasks = self.tasks.borrow_mut();
        match (polled, handed_out) {
            (Poll::Ready(out), _) => {
                tasks[id as usize] = None;
                Ok(Step::Done(out))
            }
            (Poll::Pending, Slot::Awaiting(h)) => {
                if let Some(entry) = tasks[id as usize].as_mut() {
                    entry.awaiting = true;
                    entry.task = Some(task);
                }
                Ok(Step::Awaiting(h))
            }
            (Poll::Pending, _) => {
                tasks[id as usize] = None;
                Err(StepError::Stalled)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    type D = Driver<&'static str, u32, String>;

    fn run_to_end(d: &D, id: u32, answers: &mut dyn FnMut(&str) -> u32) -> (String, Vec<String>) {
        let mut asked = Vec::new();
        let mut step = d.step(id, 0).unwrap();
        loop {
            match step {
                Step::Done(out) => return (out, asked),
                Step::Awaiting(h) => {
                    asked.push(h.to_owned());
                    step = d.step(id, answers(h)).unwrap();
                }
            }
        }
    }

    #[test]
    fn a_task_hands_out_each_await_and_gets_its_outcome() {
        let d = Rc::new(D::new());
        let (a, b) = (d.outside("fetch"), d.outside("read"));
        let id = d.start(
            async move {
                let x = a.await;
                let y = b.await;
                format!("{x}+{y}")
            },
            0,
        );
        let (out, asked) = run_to_end(&d, id, &mut |h| if h == "fetch" { 1 } else { 2 });
        assert_eq!(
            (out.as_str(), asked),
            ("1+2", vec!["fetch".to_owned(), "read".to_owned()])
        );
        assert_eq!(
            d.step(id, 0),
            Err(StepError::Lost),
            "a finished task is gone"
        );
    }

    #[test]
    fn a_task_that_awaits_nothing_is_done_at_once() {
        let d = D::new();
        let id = d.start(async { "now".to_owned() }, 0);
        assert_eq!(d.step(id, 0), Ok(Step::Done("now".to_owned())));
    }

    #[test]
    fn tasks_interleave_and_each_gets_its_own_outcome() {
        let d = D::new();
        let (a, b) = (d.outside("a"), d.outside("b"));
        let ta = d.start(async move { format!("a={}", a.await) }, 0);
        let tb = d.start(async move { format!("b={}", b.await) }, 0);
        assert_eq!(d.step(ta, 0), Ok(Step::Awaiting("a")));
        assert_eq!(d.step(tb, 0), Ok(Step::Awaiting("b")));
        assert_eq!(d.step(tb, 20), Ok(Step::Done("b=20".to_owned())));
        assert_eq!(d.step(ta, 10), Ok(Step::Done("a=10".to_owned())));
    }

    #[test]
    fn two_awaits_at_once_fail_loudly_instead_of_swapping_outcomes() {
        let d = D::new();
        let (a, b) = (d.outside("a"), d.outside("b"));
        let id = d.start(
            async move {
                // A hand-made join: poll both before either is ready.
                let (mut a, mut b) = (Box::pin(a), Box::pin(b));
                let both = std::future::poll_fn(move |cx| {
                    let x = a.as_mut().poll(cx);
                    let y = b.as_mut().poll(cx);
                    match (x, y) {
                        (Poll::Ready(x), Poll::Ready(y)) => Poll::Ready(x + y),
                        _ => Poll::Pending,
                    }
                });
                both.await.to_string()
            },
            0,
        );
        let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| d.step(id, 0)));
        let message = caught.expect_err("a second await must not pass");
        let text = message
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| message.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_default();
        assert!(text.contains("two runtime promises at once"), "{text}");
    }

    #[test]
    fn a_foreign_await_is_reported_not_hung() {
        let d = D::new();
        let id = d.start(
            async {
                std::future::pending::<()>().await;
                String::new()
            },
            0,
        );
        assert_eq!(d.step(id, 0), Err(StepError::Stalled));
        assert_eq!(d.step(id, 0), Err(StepError::Lost));
    }

    #[test]
    fn unknown_and_stale_tasks_are_lost_and_slots_reused() {
        let d = D::new();
        assert_eq!(d.step(7, 0), Err(StepError::Lost));
        let a = d.outside("never settles");
        let old = d.start(async move { a.await.to_string() }, 100);
        assert_eq!(d.step(old, 0), Ok(Step::Awaiting("never settles")));
        // Within the limit the awaiting task stays; past it, the next start drops it.
        let fresh = d.start(async { String::new() }, 100 + MAX_TASK_SECS);
        assert_ne!(fresh, old);
        assert_eq!(d.step(fresh, 0), Ok(Step::Done(String::new())));
        let reused = d.start(async { "x".to_owned() }, 101 + MAX_TASK_SECS);
        assert_eq!(reused, old, "the stale task's place is taken");
        assert_eq!(d.step(reused, 0), Ok(Step::Done("x".to_owned())));
    }
}
