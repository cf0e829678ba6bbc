//! Ages as kubectl prints them (`45s`, `3m12s`, `5h`, `12d`; apimachinery's
//! `duration.HumanDuration`).

use k8s_openapi::jiff::Timestamp;
use serde_json::Value;

/// kubectl's short human durations (`45s`, `3m12s`, `5h`, `12d`).
pub fn age(created: &Value) -> String {
    let Some(created) = created.as_str().and_then(|s| s.parse::<Timestamp>().ok()) else {
        return "<unknown>".to_string();
    };
    human_duration(Timestamp::now().as_second() - created.as_second())
}

/// apimachinery `pkg/util/duration` `HumanDuration` (the product has the same, with tests; the
/// demo may not depend on the product).
fn human_duration(seconds: i64) -> String {
    let rest = |big: i64, unit: &str, small: i64, small_unit: &str| {
        if small == 0 {
            format!("{big}{unit}")
        } else {
            format!("{big}{unit}{small}{small_unit}")
        }
    };
    let (minutes, hours) = (seconds / 60, seconds / 3600);
    match seconds {
        s if s < -1 => "<invalid>".into(),
        s if s < 0 => "0s".into(),
        s if s < 120 => format!("{s}s"),
        _ if minutes < 10 => rest(minutes, "m", seconds % 60, "s"),
        _ if minutes < 180 => format!("{minutes}m"),
        _ if hours < 8 => rest(hours, "h", minutes % 60, "m"),
        _ if hours < 48 => format!("{hours}h"),
        _ if hours < 24 * 8 => rest(hours / 24, "d", hours % 24, "h"),
        _ if hours < 24 * 365 * 2 => format!("{}d", hours / 24),
        _ if hours < 24 * 365 * 8 => rest(hours / 24 / 365, "y", (hours / 24) % 365, "d"),
        _ => format!("{}y", hours / 24 / 365),
    }
}

#[cfg(test)]
mod tests {
    use super::human_duration;

    #[test]
    fn as_apimachinery_prints_them() {
        for (seconds, want) in [
            (119, "119s"),
            (190, "3m10s"),
            (180, "3m"),
            (70 * 60, "70m"),
            (5 * 3600 + 20 * 60, "5h20m"),
            (49 * 3600, "2d1h"),
            (367 * 86_400, "367d"),
            (365 * 2 * 86_400 + 25 * 3600, "2y1d"),
        ] {
            assert_eq!(human_duration(seconds), want);
        }
    }
}
