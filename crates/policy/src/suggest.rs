//! "Did you mean" lists for unknown names.

/// Up to five of `candidates` close to `input` (edit distance at most a third of its length,
/// or containing it), closest first.
pub(crate) fn close<'a>(
    input: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Vec<&'a str> {
    let needle = input.to_ascii_lowercase();
    let limit = (needle.chars().count() / 3).max(1);
    let mut scored: Vec<(usize, &str)> = candidates
        .into_iter()
        .filter_map(|c| {
            let lower = c.to_ascii_lowercase();
            let d = distance(&needle, &lower);
            let contains = needle.len() >= 3 && lower.contains(&needle);
            (d <= limit || contains).then_some((d, c))
        })
        .collect();
    scored.sort();
    scored.dedup_by(|a, b| a.1 == b.1);
    scored.into_iter().take(5).map(|(_, c)| c).collect()
}

/// `" (close names: a, b)"`, or `fallback` when nothing is close.
pub(crate) fn hint<'a>(
    input: &str,
    candidates: impl IntoIterator<Item = &'a str>,
    fallback: &str,
) -> String {
    let close = close(input, candidates);
    if close.is_empty() {
        fallback.to_string()
    } else {
        format!("; close names: {}", close.join(", "))
    }
}

/// Edit distance counting a swap of two neighbours as one edit (optimal string alignment).
fn distance(a: &str, b: &str) -> usize {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut v = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                v = v.min(d[i - 2][j - 2] + 1);
            }
            d[i][j] = v;
        }
    }
    d[a.len()][b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distances() {
        assert_eq!(distance("", "abc"), 3);
        assert_eq!(distance("kitten", "sitting"), 3);
        assert_eq!(distance("opne", "open"), 1);
        assert_eq!(distance("read", "read"), 0);
    }

    #[test]
    fn close_names() {
        let names = ["open", "openat", "openat2", "close", "read"];
        assert_eq!(close("opne", names), ["open"]);
        assert_eq!(close("openatt", names), ["openat", "openat2"]);
        assert_eq!(close("OPEN", names), ["open", "openat", "openat2"]);
        assert!(close("zzzzzz", names).is_empty());
    }
}
