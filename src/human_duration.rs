//! Durations as kubectl prints them: `45s`, `3m12s`, `70m`, `5h20m`, `47h`, `3d4h`, `12d`,
//! `2y30d`, exactly as apimachinery's `pkg/util/duration` `HumanDuration`, which `kubectl get`
//! (AGE) and `kubectl describe` (Events) both use. One copy for the product; the demo cluster
//! keeps its own (it may not depend on the product).

use k8s_openapi::jiff::Timestamp;

/// `HumanDuration` of a whole number of seconds.
pub fn human_duration(seconds: i64) -> String {
    // Up to a second behind is clock skew between machines: "0s", as kubectl says.
    if seconds < -1 {
        return "<invalid>".into();
    }
    if seconds < 0 {
        return "0s".into();
    }
    if seconds < 60 * 2 {
        return format!("{seconds}s");
    }
    let minutes = seconds / 60;
    if minutes < 10 {
        return with_rest(minutes, "m", seconds % 60, "s");
    }
    if minutes < 60 * 3 {
        return format!("{minutes}m");
    }
    let hours = seconds / 3600;
    if hours < 8 {
        return with_rest(hours, "h", minutes % 60, "m");
    }
    if hours < 48 {
        return format!("{hours}h");
    }
    if hours < 24 * 8 {
        return with_rest(hours / 24, "d", hours % 24, "h");
    }
    if hours < 24 * 365 * 2 {
        return format!("{}d", hours / 24);
    }
    if hours < 24 * 365 * 8 {
        return with_rest(hours / 24 / 365, "y", (hours / 24) % 365, "d");
    }
    format!("{}y", hours / 24 / 365)
}

/// How long ago `then` was, at `now`.
pub fn since(then: Timestamp, now: Timestamp) -> String {
    human_duration(now.as_second() - then.as_second())
}

/// `3m12s`, or `3m` when the smaller unit is 0.
fn with_rest(big: i64, big_unit: &str, small: i64, small_unit: &str) -> String {
    if small == 0 {
        format!("{big}{big_unit}")
    } else {
        format!("{big}{big_unit}{small}{small_unit}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn as_apimachinery_prints_them() {
        let (m, h, d) = (60, 3600, 86_400);
        for (seconds, want) in [
            (-2, "<invalid>"),
            (-1, "0s"),
            (0, "0s"),
            (1, "1s"),
            (70, "70s"),
            (119, "119s"),
            (120, "2m"),
            (190, "3m10s"),
            (9 * m + 59, "9m59s"),
            (10 * m + 30, "10m"),
            (70 * m, "70m"),
            (3 * h - 1, "179m"),
            (3 * h, "3h"),
            (5 * h + 20 * m + 7, "5h20m"),
            (8 * h + 59 * m, "8h"),
            (47 * h, "47h"),
            (49 * h, "2d1h"),
            (3 * d, "3d"),
            (8 * d + 2 * h, "8d"),
            (367 * d, "367d"),
            (365 * 2 * d + 25 * h, "2y1d"),
            (365 * 3 * d, "3y"),
            (365 * 8 * d + 2 * h, "8y"),
        ] {
            assert_eq!(human_duration(seconds), want, "{seconds} s");
        }
    }
}
