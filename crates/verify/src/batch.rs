//! Batches: many files on a few threads, results in input order.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;

/// Runs `work` over `items` on up to `jobs` threads and hands the results to `emit` in input
/// order, each as soon as it and everything before it are done.
pub fn for_each_in_order<T: Sync, R: Send>(
    items: &[T],
    jobs: usize,
    work: impl Fn(&T) -> R + Sync,
    mut emit: impl FnMut(R),
) {
    let jobs = jobs.clamp(1, items.len().max(1));
    if jobs == 1 {
        items.iter().for_each(|item| emit(work(item)));
        return;
    }
    let next = AtomicUsize::new(0);
    let (tx, rx) = mpsc::channel();
    std::thread::scope(|scope| {
        for _ in 0..jobs {
            let tx = tx.clone();
            let (next, work) = (&next, &work);
            scope.spawn(move || loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(item) = items.get(i) else { break };
                if tx.send((i, work(item))).is_err() {
                    break;
                }
            });
        }
        drop(tx);
        let mut pending = BTreeMap::new();
        let mut due = 0;
        for (i, result) in rx {
            pending.insert(i, result);
            while let Some(result) = pending.remove(&due) {
                emit(result);
                due += 1;
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::for_each_in_order;

    #[test]
    fn parallel_results_come_out_in_input_order() {
        let items: Vec<u64> = (0..40).collect();
        for jobs in [1, 3, 100] {
            let mut seen = Vec::new();
            for_each_in_order(
                &items,
                jobs,
                |&i| {
                    // Later items finish first.
                    std::thread::sleep(std::time::Duration::from_millis((40 - i) % 7));
                    i * 2
                },
                |r| seen.push(r),
            );
            assert_eq!(seen, items.iter().map(|i| i * 2).collect::<Vec<_>>());
        }
        let mut none = Vec::new();
        for_each_in_order(&[] as &[u8], 4, |&b| b, |r| none.push(r));
        assert!(none.is_empty());
    }
}
