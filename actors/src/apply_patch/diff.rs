//! This file computes line diffs with Myers' algorithm and renders them as unified
//! diffs, which the UI shows for each file a patch changes.
//!
//! Common leading and trailing lines are stripped first; when the remaining edit
//! distance exceeds [`MAX_EDIT_DISTANCE`], the middle is reported as removed and
//! re-added in full, which is correct but not minimal, to bound time and memory.

use std::fmt::Write as _;

/// The largest edit distance searched for a minimal diff.
const MAX_EDIT_DISTANCE: usize = 1024;

/// The number of unchanged lines shown around each change in a unified diff.
const CONTEXT_LINES: usize = 3;

/// One step of a diff from an old sequence to a new one, by index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Edit {
    /// The old item at `old` equals the new item at `new`.
    Equal {
        /// The index in the old sequence.
        old: usize,
        /// The index in the new sequence.
        new: usize,
    },
    /// The old item at `old` is removed.
    Delete {
        /// The index in the old sequence.
        old: usize,
    },
    /// The new item at `new` is inserted.
    Insert {
        /// The index in the new sequence.
        new: usize,
    },
}

/// Returns the edits that turn `old` into `new`, in order.
pub(super) fn diff<T: PartialEq>(old: &[T], new: &[T]) -> Vec<Edit> {
    let prefix = old.iter().zip(new).take_while(|(a, b)| a == b).count();
    let old_rest = old.get(prefix..).unwrap_or_default();
    let new_rest = new.get(prefix..).unwrap_or_default();
    let suffix = old_rest
        .iter()
        .rev()
        .zip(new_rest.iter().rev())
        .take_while(|(a, b)| a == b)
        .count();
    let old_mid = old_rest
        .get(..old_rest.len().saturating_sub(suffix))
        .unwrap_or_default();
    let new_mid = new_rest
        .get(..new_rest.len().saturating_sub(suffix))
        .unwrap_or_default();

    let mut edits: Vec<Edit> = (0..prefix)
        .map(|i| Edit::Equal { old: i, new: i })
        .collect();
    let middle = myers(old_mid, new_mid).unwrap_or_else(|| {
        let deletes = (0..old_mid.len()).map(|old| Edit::Delete { old });
        deletes
            .chain((0..new_mid.len()).map(|new| Edit::Insert { new }))
            .collect()
    });
    edits.extend(middle.into_iter().map(|edit| match edit {
        Edit::Equal { old, new } => Edit::Equal {
            old: old + prefix,
            new: new + prefix,
        },
        Edit::Delete { old } => Edit::Delete { old: old + prefix },
        Edit::Insert { new } => Edit::Insert { new: new + prefix },
    }));
    edits.extend((0..suffix).map(|i| Edit::Equal {
        old: prefix + old_mid.len() + i,
        new: prefix + new_mid.len() + i,
    }));
    edits
}

/// Reads the furthest x reached on diagonal `k` in round `d`, stored at index `k + d`.
fn furthest(trace: &[Vec<isize>], d: isize, k: isize) -> isize {
    let row = usize::try_from(d).ok().and_then(|d| trace.get(d));
    let column = usize::try_from(k + d).ok();
    row.zip(column)
        .and_then(|(row, column)| row.get(column))
        .copied()
        .unwrap_or(-1)
}

/// Whether round `d` reaches diagonal `k` by a step down from diagonal `k + 1`.
fn steps_down(trace: &[Vec<isize>], d: isize, k: isize) -> bool {
    k == -d || (k != d && furthest(trace, d - 1, k - 1) < furthest(trace, d - 1, k + 1))
}

/// Finds a shortest edit script, or `None` when it is longer than the search bound.
fn myers<T: PartialEq>(old: &[T], new: &[T]) -> Option<Vec<Edit>> {
    let n = isize::try_from(old.len()).ok()?;
    let m = isize::try_from(new.len()).ok()?;
    let bound = isize::try_from(MAX_EDIT_DISTANCE).ok()?.min(n + m);
    let same = |x: isize, y: isize| {
        let a = usize::try_from(x).ok().and_then(|x| old.get(x));
        let b = usize::try_from(y).ok().and_then(|y| new.get(y));
        matches!((a, b), (Some(a), Some(b)) if a == b)
    };
    let mut trace: Vec<Vec<isize>> = Vec::new();
    for d in 0..=bound {
        let mut row = vec![0; usize::try_from(2 * d + 1).ok()?];
        let mut k = -d;
        while k <= d {
            let mut x = if d == 0 {
                0
            } else if steps_down(&trace, d, k) {
                furthest(&trace, d - 1, k + 1)
            } else {
                furthest(&trace, d - 1, k - 1) + 1
            };
            let mut y = x - k;
            while x < n && y < m && same(x, y) {
                x += 1;
                y += 1;
            }
            if let Some(slot) = usize::try_from(k + d).ok().and_then(|i| row.get_mut(i)) {
                *slot = x;
            }
            if x >= n && y >= m {
                trace.push(row);
                return Some(backtrack(&trace, n, m));
            }
            k += 2;
        }
        trace.push(row);
    }
    None
}

/// Walks the stored rounds back from the end to recover the edits.
fn backtrack(trace: &[Vec<isize>], n: isize, m: isize) -> Vec<Edit> {
    let index = |value: isize| usize::try_from(value).unwrap_or_default();
    let mut edits = Vec::new();
    let (mut x, mut y) = (n, m);
    let rounds = isize::try_from(trace.len()).unwrap_or_default();
    for d in (1..rounds).rev() {
        let k = x - y;
        let previous_k = if steps_down(trace, d, k) {
            k + 1
        } else {
            k - 1
        };
        let previous_x = furthest(trace, d - 1, previous_k);
        let previous_y = previous_x - previous_k;
        while x > previous_x && y > previous_y {
            edits.push(Edit::Equal {
                old: index(x - 1),
                new: index(y - 1),
            });
            x -= 1;
            y -= 1;
        }
        if previous_k == k + 1 {
            edits.push(Edit::Insert { new: index(y - 1) });
        } else {
            edits.push(Edit::Delete { old: index(x - 1) });
        }
        x = previous_x;
        y = previous_y;
    }
    while x > 0 && y > 0 {
        edits.push(Edit::Equal {
            old: index(x - 1),
            new: index(y - 1),
        });
        x -= 1;
        y -= 1;
    }
    edits.reverse();
    edits
}

/// Renders a unified diff from `old` to `new` with three lines of context.
///
/// The labels name the two sides in the `---` and `+++` lines (use `/dev/null` for a
/// side that does not exist). Returns an empty string when the texts are equal.
pub fn unified_diff(old: &str, new: &str, old_label: &str, new_label: &str) -> String {
    let old_lines: Vec<&str> = old.split_inclusive('\n').collect();
    let new_lines: Vec<&str> = new.split_inclusive('\n').collect();
    let edits = diff(&old_lines, &new_lines);
    let changes: Vec<usize> = edits
        .iter()
        .enumerate()
        .filter(|(_, edit)| !matches!(edit, Edit::Equal { .. }))
        .map(|(i, _)| i)
        .collect();
    let mut out = String::new();
    if changes.is_empty() {
        return out;
    }
    let _ = writeln!(out, "--- {old_label}\n+++ {new_label}");

    // The old and new line positions before each edit, for the hunk headers.
    let mut old_pos = Vec::with_capacity(edits.len() + 1);
    let mut new_pos = Vec::with_capacity(edits.len() + 1);
    let (mut o, mut n) = (0, 0);
    for edit in &edits {
        old_pos.push(o);
        new_pos.push(n);
        match edit {
            Edit::Equal { .. } => {
                o += 1;
                n += 1;
            }
            Edit::Delete { .. } => o += 1,
            Edit::Insert { .. } => n += 1,
        }
    }
    old_pos.push(o);
    new_pos.push(n);

    let mut groups: Vec<(usize, usize)> = Vec::new();
    for &change in &changes {
        match groups.last_mut() {
            Some((_, last)) if change - *last <= 2 * CONTEXT_LINES => *last = change,
            _ => groups.push((change, change)),
        }
    }
    for (first, last) in groups {
        let start = first.saturating_sub(CONTEXT_LINES);
        let end = (last + 1 + CONTEXT_LINES).min(edits.len());
        let at = |positions: &[usize], i: usize| positions.get(i).copied().unwrap_or_default();
        let old_len = at(&old_pos, end) - at(&old_pos, start);
        let new_len = at(&new_pos, end) - at(&new_pos, start);
        let old_start = at(&old_pos, start) + usize::from(old_len > 0);
        let new_start = at(&new_pos, start) + usize::from(new_len > 0);
        let _ = writeln!(out, "@@ -{old_start},{old_len} +{new_start},{new_len} @@");
        for edit in edits.get(start..end).unwrap_or_default() {
            let (prefix, line) = match *edit {
                Edit::Equal { old, .. } => (' ', old_lines.get(old)),
                Edit::Delete { old } => ('-', old_lines.get(old)),
                Edit::Insert { new } => ('+', new_lines.get(new)),
            };
            let line = line.copied().unwrap_or_default();
            out.push(prefix);
            out.push_str(line);
            if !line.ends_with('\n') {
                out.push_str("\n\\ No newline at end of file\n");
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use expect_test::{Expect, expect};
    use proptest::prelude::*;

    use super::*;

    /// Renders the unified diff of `old` and `new` and compares it with `expected`.
    fn check(old: &str, new: &str, expected: Expect) {
        expected.assert_eq(&unified_diff(old, new, "a.txt", "b.txt"));
    }

    #[test]
    fn renders_unified_diffs() {
        check("a\nb\n", "a\nb\n", expect![""]);
        check(
            "1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n11\n12\n",
            "1\n2\nthree\n4\n5\n6\n7\n8\n9\n10\n11\n12\nthirteen\n",
            expect![[r#"
                --- a.txt
                +++ b.txt
                @@ -1,6 +1,6 @@
                 1
                 2
                -3
                +three
                 4
                 5
                 6
                @@ -10,3 +10,4 @@
                 10
                 11
                 12
                +thirteen
            "#]],
        );
        check(
            "",
            "new\nfile\n",
            expect![[r#"
                --- a.txt
                +++ b.txt
                @@ -0,0 +1,2 @@
                +new
                +file
            "#]],
        );
        check(
            "x\nend",
            "x\nend\n",
            expect![[r#"
                --- a.txt
                +++ b.txt
                @@ -1,2 +1,2 @@
                 x
                -end
                \ No newline at end of file
                +end
            "#]],
        );
    }

    #[test]
    fn falls_back_to_replacing_the_middle_beyond_the_bound() {
        let old: Vec<u32> = (0..1500).chain([7000, 7001]).collect();
        let new: Vec<u32> = (3000..4500).chain([7000, 7001]).collect();
        let edits = diff(&old, &new);
        assert_eq!(edits.len(), 3002);
        assert_eq!(edits.first(), Some(&Edit::Delete { old: 0 }));
        assert_eq!(edits.get(1500), Some(&Edit::Insert { new: 0 }));
        assert_eq!(
            edits.last(),
            Some(&Edit::Equal {
                old: 1501,
                new: 1501
            })
        );
    }

    /// Rebuilds the new sequence from the old one and the edits, checking each equal pair.
    fn replay(old: &[u8], new: &[u8], edits: &[Edit]) -> Option<Vec<u8>> {
        let mut out = Vec::new();
        let (mut next_old, mut next_new) = (0, 0);
        for edit in edits {
            match *edit {
                Edit::Equal { old: o, new: n } => {
                    if o != next_old || n != next_new || old.get(o)? != new.get(n)? {
                        return None;
                    }
                    out.push(*old.get(o)?);
                    next_old += 1;
                    next_new += 1;
                }
                Edit::Delete { old: o } => {
                    if o != next_old {
                        return None;
                    }
                    next_old += 1;
                }
                Edit::Insert { new: n } => {
                    if n != next_new {
                        return None;
                    }
                    out.push(*new.get(n)?);
                    next_new += 1;
                }
            }
        }
        (next_old == old.len()).then_some(out)
    }

    /// The length of a longest common subsequence, by dynamic programming.
    fn lcs(a: &[u8], b: &[u8]) -> usize {
        let mut row = vec![0; b.len() + 1];
        for x in a {
            let mut diagonal = 0;
            for (j, y) in b.iter().enumerate() {
                let above = row[j + 1];
                row[j + 1] = if x == y {
                    diagonal + 1
                } else {
                    above.max(row[j])
                };
                diagonal = above;
            }
        }
        row[b.len()]
    }

    proptest! {
        #[test]
        fn diffs_are_valid_and_minimal(
            old in proptest::collection::vec(0u8..4, 0..40),
            new in proptest::collection::vec(0u8..4, 0..40),
        ) {
            let edits = diff(&old, &new);
            prop_assert_eq!(replay(&old, &new, &edits), Some(new.clone()));
            let equal = edits.iter().filter(|e| matches!(e, Edit::Equal { .. })).count();
            prop_assert_eq!(equal, lcs(&old, &new));
        }
    }
}
