//! Ages as kubectl prints them (`45s`, `3m12s`, `5h`, `12d`; apimachinery's
//! `duration.HumanDuration`).

use k8s_openapi::jiff::Timestamp;
use serde_json::Value;

/// kubectl's short human durations (`45s`, `3m12s`, `5h`, `12d`).
pub fn age(created: &Value) -> String {
    let Some(created) = created.as_str().and_then(|s| s.parse::<Timestamp>().ok()) else {
        return "<unknown>".to_string();
    };
    let secs = (Timestamp::now().as_second() - created.as_second()).max(0);
    let (m, h, d) = (secs / 60, secs / 3600, secs / 86_400);
    match secs {
        s if s < 120 => format!("{s}s"),
        _ if m < 10 => format!("{m}m{}s", secs % 60),
        _ if m < 180 => format!("{m}m"),
        _ if h < 8 => format!("{h}h{}m", m % 60),
        _ if h < 48 => format!("{h}h"),
        _ => format!("{d}d"),
    }
}
