//! libstdc++'s (GCC 12) `std::sort`: introsort with median-of-three pivot,
//! heap sort past depth `2*floor(log2 n)`, and a final insertion sort with
//! threshold 16. `std::sort` is not stable, and mothur sorts OTUs with a
//! comparator that only looks at abundance (`abundNamesSort2` in
//! listvector.cpp), so the order of equally abundant OTUs in a `.list` line
//! is whatever this exact algorithm produces. We reproduce it step by step.
//!
//! `less(a, b)` is the C++ comparator (`comp(a, b)`).

/// Sorts `v` exactly as `std::sort(v.begin(), v.end(), less)` would.
pub fn sort<T: Clone>(v: &mut [T], less: &mut dyn FnMut(&T, &T) -> bool) {
    let n = v.len();
    if n == 0 {
        return;
    }
    let depth = 2 * floor_log2(n);
    introsort_loop(v, 0, n, depth, less);
    final_insertion_sort(v, 0, n, less);
}

const THRESHOLD: usize = 16;

fn floor_log2(n: usize) -> usize {
    (usize::BITS - 1 - n.leading_zeros()) as usize
}

fn introsort_loop<T: Clone>(
    v: &mut [T],
    first: usize,
    mut last: usize,
    mut depth: usize,
    less: &mut dyn FnMut(&T, &T) -> bool,
) {
    while last - first > THRESHOLD {
        if depth == 0 {
            heap_sort(&mut v[first..last], less);
            return;
        }
        depth -= 1;
        let cut = partition_pivot(v, first, last, less);
        introsort_loop(v, cut, last, depth, less);
        last = cut;
    }
}

fn move_median_to_first<T>(
    v: &mut [T],
    result: usize,
    a: usize,
    b: usize,
    c: usize,
    less: &mut dyn FnMut(&T, &T) -> bool,
) {
    let pick = if less(&v[a], &v[b]) {
        if less(&v[b], &v[c]) {
            b
        } else if less(&v[a], &v[c]) {
            c
        } else {
            a
        }
    } else if less(&v[a], &v[c]) {
        a
    } else if less(&v[b], &v[c]) {
        c
    } else {
        b
    };
    v.swap(result, pick);
}

fn partition_pivot<T>(
    v: &mut [T],
    first: usize,
    last: usize,
    less: &mut dyn FnMut(&T, &T) -> bool,
) -> usize {
    let mid = first + (last - first) / 2;
    move_median_to_first(v, first, first + 1, mid, last - 1, less);
    // __unguarded_partition(first + 1, last, pivot = first)
    let pivot = first;
    let mut lo = first + 1;
    let mut hi = last;
    loop {
        while less(&v[lo], &v[pivot]) {
            lo += 1;
        }
        hi -= 1;
        while less(&v[pivot], &v[hi]) {
            hi -= 1;
        }
        if lo >= hi {
            return lo;
        }
        v.swap(lo, hi);
        lo += 1;
    }
}

/// `__unguarded_linear_insert`: sinks `v[i]` left while it is less than
/// its neighbour (swapping is the same as libstdc++'s hole moves).
fn linear_insert<T>(v: &mut [T], mut i: usize, less: &mut dyn FnMut(&T, &T) -> bool) {
    while i > 0 && less(&v[i], &v[i - 1]) {
        v.swap(i, i - 1);
        i -= 1;
    }
}

fn insertion_sort<T>(v: &mut [T], first: usize, last: usize, less: &mut dyn FnMut(&T, &T) -> bool) {
    if first == last {
        return;
    }
    for i in first + 1..last {
        if less(&v[i], &v[first]) {
            v[first..=i].rotate_right(1);
        } else {
            linear_insert(v, i, less);
        }
    }
}

fn final_insertion_sort<T>(
    v: &mut [T],
    first: usize,
    last: usize,
    less: &mut dyn FnMut(&T, &T) -> bool,
) {
    if last - first > THRESHOLD {
        insertion_sort(v, first, first + THRESHOLD, less);
        for i in first + THRESHOLD..last {
            linear_insert(v, i, less);
        }
    } else {
        insertion_sort(v, first, last, less);
    }
}

/// `__partial_sort(first, last, last)`: make_heap then sort_heap.
fn heap_sort<T: Clone>(v: &mut [T], less: &mut dyn FnMut(&T, &T) -> bool) {
    let len = v.len();
    if len >= 2 {
        let mut parent = (len - 2) / 2;
        loop {
            let value = v[parent].clone();
            adjust_heap(v, parent, len, value, less);
            if parent == 0 {
                break;
            }
            parent -= 1;
        }
    }
    let mut last = len;
    while last > 1 {
        last -= 1;
        // __pop_heap(first, last, last)
        let value = v[last].clone();
        v[last] = v[0].clone();
        adjust_heap(&mut v[..last], 0, last, value, less);
    }
}

fn adjust_heap<T: Clone>(
    v: &mut [T],
    mut hole: usize,
    len: usize,
    value: T,
    less: &mut dyn FnMut(&T, &T) -> bool,
) {
    let top = hole;
    let mut second = hole;
    while second < (len.saturating_sub(1)) / 2 {
        second = 2 * (second + 1);
        if less(&v[second], &v[second - 1]) {
            second -= 1;
        }
        v[hole] = v[second].clone();
        hole = second;
    }
    if len & 1 == 0 && len >= 2 && second == (len - 2) / 2 {
        second = 2 * (second + 1);
        v[hole] = v[second - 1].clone();
        hole = second - 1;
    }
    // __push_heap(first, hole, top, value)
    while hole > top {
        let parent = (hole - 1) / 2;
        if !less(&v[parent], &value) {
            break;
        }
        v[hole] = v[parent].clone();
        hole = parent;
    }
    v[hole] = value;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sorts_correctly() {
        let mut state = 7u64;
        for n in [0usize, 1, 2, 5, 16, 17, 40, 200, 1000] {
            let mut v: alloc::vec::Vec<u32> = (0..n)
                .map(|_| {
                    state = state
                        .wrapping_mul(6364136223846793005)
                        .wrapping_add(1442695040888963407);
                    (state >> 33) as u32 % 50
                })
                .collect();
            let mut w = v.clone();
            w.sort();
            sort(&mut v, &mut |a, b| a < b);
            assert_eq!(v, w);
        }
    }

    #[test]
    fn heap_path_sorts() {
        let mut v: alloc::vec::Vec<u32> = (0..100).rev().collect();
        heap_sort(&mut v, &mut |a, b| a < b);
        assert_eq!(v, (0..100).collect::<alloc::vec::Vec<_>>());
    }

    /// Equal keys end up where libstdc++ puts them. Expected values were
    /// produced by GCC 12's `std::sort` on the same input (FNV-1a of the
    /// resulting id order, and the first three ids).
    #[test]
    fn equal_keys_like_libstdcxx() {
        let expect: [(usize, u64, [u32; 3]); 5] = [
            (17, 11095637298481784103, [2, 5, 14]),
            (33, 8049455174709893065, [18, 2, 22]),
            (60, 16908542446692922351, [45, 31, 32]),
            (100, 1494447923934049643, [62, 74, 73]),
            (257, 18109023987073915023, [206, 83, 209]),
        ];
        for (n, hash, first) in expect {
            let m = (n % 5) as u32 + 1;
            let mut v: alloc::vec::Vec<(u32, u32)> =
                (0..n as u32).map(|i| ((i * 7919 + 13) % m, i)).collect();
            sort(&mut v, &mut |a, b| a.0 > b.0);
            let mut h: u64 = 1469598103934665603;
            for e in &v {
                h = (h ^ u64::from(e.1)).wrapping_mul(1099511628211);
            }
            assert_eq!(h, hash, "n={}", n);
            assert_eq!([v[0].1, v[1].1, v[2].1], first);
        }
    }

    #[test]
    fn sixteen_or_fewer_equal_keys_stay_put() {
        let mut v: alloc::vec::Vec<(u32, u32)> = (0..16).map(|i| (1, i)).collect();
        let w = v.clone();
        sort(&mut v, &mut |a, b| a.0 > b.0);
        assert_eq!(v, w);
    }
}
