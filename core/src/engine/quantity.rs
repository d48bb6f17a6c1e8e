//! Resource quantities written as Kubernetes' `resource.Quantity` writes them: a YAML number
//! `cpu: 0.5` becomes `"500m"`, `cpu: 4` becomes `"4"`, `1024Mi` becomes `"1Gi"`. Upstream's
//! ProwJob CRD types quantities as int-or-string, which refuses `0.5`; and a ProwJob upstream
//! writes carries the canonical text.

use serde_json::Value;

/// The decimal suffixes, by power of ten.
const DECIMAL: [(i32, &str); 10] = [
    (-9, "n"),
    (-6, "u"),
    (-3, "m"),
    (0, ""),
    (3, "k"),
    (6, "M"),
    (9, "G"),
    (12, "T"),
    (15, "P"),
    (18, "E"),
];
/// The binary suffixes, by power of 1024.
const BINARY: [&str; 7] = ["", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"];

#[derive(Clone, Copy, PartialEq, Debug)]
enum Format {
    DecimalSi,
    BinarySi,
    DecimalExponent,
}

/// A parsed quantity: ±`mantissa` × 10^`exponent`, and how it was written.
#[derive(Clone, Copy, Debug)]
struct Parsed {
    negative: bool,
    mantissa: u128,
    exponent: i32,
    format: Format,
}

/// The canonical text of a quantity written as `text`, or `None` when it is not a quantity (it
/// is then left as written; `check` reports it).
pub fn canonical(text: &str) -> Option<String> {
    let parsed = parse(text.trim())?;
    Some(format(parsed))
}

/// The canonical form of a quantity value as YAML gives it: a number or a string. Anything else,
/// or text that is no quantity, is returned unchanged.
pub fn canonical_value(value: &Value) -> Value {
    let text = match value {
        Value::String(text) => text.clone(),
        Value::Number(number) => number.to_string(),
        _ => return value.clone(),
    };
    canonical(&text).map_or_else(|| value.clone(), Value::String)
}

/// Canonicalises every value of a resource list (`requests`, `limits`, `overhead`).
pub fn canonical_list(list: &mut Value) {
    if let Some(map) = list.as_object_mut() {
        for value in map.values_mut() {
            *value = canonical_value(value);
        }
    }
}

/// Canonicalises the quantities of a pod spec: the resources of every container, the pod's own
/// resources and overhead, and `emptyDir.sizeLimit` of its volumes.
pub fn canonical_pod_spec(pod: &mut Value) {
    for list in ["containers", "initContainers", "ephemeralContainers"] {
        let containers = pod.get_mut(list).and_then(Value::as_array_mut);
        for container in containers.into_iter().flatten() {
            if let Some(resources) = container.get_mut("resources") {
                canonical_requirements(resources);
            }
        }
    }
    if let Some(resources) = pod.get_mut("resources") {
        canonical_requirements(resources);
    }
    if let Some(overhead) = pod.get_mut("overhead") {
        canonical_list(overhead);
    }
    let volumes = pod.get_mut("volumes").and_then(Value::as_array_mut);
    for volume in volumes.into_iter().flatten() {
        if let Some(limit) = volume.pointer_mut("/emptyDir/sizeLimit") {
            *limit = canonical_value(limit);
        }
    }
}

/// Canonicalises `requests` and `limits` of resource requirements.
pub fn canonical_requirements(resources: &mut Value) {
    for key in ["requests", "limits"] {
        if let Some(list) = resources.get_mut(key) {
            canonical_list(list);
        }
    }
}

fn parse(text: &str) -> Option<Parsed> {
    let (negative, rest) = match text.as_bytes().first()? {
        b'-' => (true, &text[1..]),
        b'+' => (false, &text[1..]),
        _ => (false, text),
    };
    let number_end = rest
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(rest.len());
    let (number, suffix) = rest.split_at(number_end);
    let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
    if whole.is_empty() && fraction.is_empty() || fraction.contains('.') {
        return None;
    }
    let digits = format!("{whole}{fraction}");
    let digits = digits.trim_start_matches('0');
    let mut mantissa: u128 = if digits.is_empty() { 0 } else { digits.parse().ok()? };
    let mut exponent = -i32::try_from(fraction.len()).ok()?;
    let format = match suffix {
        s if s.len() == 2 && s.ends_with('i') => {
            let power = BINARY.iter().position(|b| *b == s)?;
            mantissa = mantissa.checked_mul(1024u128.checked_pow(u32::try_from(power).ok()?)?)?;
            Format::BinarySi
        }
        s if (s.starts_with('e') || s.starts_with('E')) && s.len() > 1 => {
            exponent = exponent.checked_add(s[1..].parse::<i32>().ok()?)?;
            Format::DecimalExponent
        }
        s => {
            let (power, _) = DECIMAL.iter().find(|(_, name)| *name == s)?;
            exponent += power;
            Format::DecimalSi
        }
    };
    // Quantities keep nano precision, rounding up (away from zero).
    if exponent < -9 {
        let divisor = 10u128.checked_pow(u32::try_from(-9 - exponent).ok()?)?;
        mantissa = mantissa.div_ceil(divisor);
        exponent = -9;
    }
    Some(Parsed {
        negative: negative && mantissa != 0,
        mantissa,
        exponent,
        format,
    })
}

fn format(parsed: Parsed) -> String {
    let sign = if parsed.negative { "-" } else { "" };
    if parsed.format == Format::BinarySi
        && let Some(bytes) = whole_number(parsed.mantissa, parsed.exponent)
        && bytes >= 1024
    {
        let mut number = bytes;
        let mut power = 0;
        while power + 1 < BINARY.len() && number.is_multiple_of(1024) {
            number /= 1024;
            power += 1;
        }
        return format!("{sign}{number}{}", BINARY[power]);
    }
    let (mut mantissa, mut exponent) = (parsed.mantissa, parsed.exponent);
    if mantissa == 0 {
        return "0".to_string();
    }
    while mantissa.is_multiple_of(10) {
        mantissa /= 10;
        exponent += 1;
    }
    while exponent.rem_euclid(3) != 0 || exponent > 18 && parsed.format != Format::DecimalExponent {
        mantissa *= 10;
        exponent -= 1;
    }
    let suffix = match parsed.format {
        Format::DecimalExponent if exponent != 0 => format!("e{exponent}"),
        Format::DecimalExponent => String::new(),
        _ => DECIMAL
            .iter()
            .find(|(power, _)| *power == exponent)
            .map(|(_, name)| name.to_string())
            .unwrap_or_default(),
    };
    format!("{sign}{mantissa}{suffix}")
}

/// `mantissa × 10^exponent` when it is a whole number.
fn whole_number(mantissa: u128, exponent: i32) -> Option<u128> {
    if exponent >= 0 {
        return mantissa.checked_mul(10u128.checked_pow(u32::try_from(exponent).ok()?)?);
    }
    let divisor = 10u128.checked_pow(u32::try_from(-exponent).ok()?)?;
    mantissa.is_multiple_of(divisor).then(|| mantissa / divisor)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn quantities_are_written_as_kubernetes_writes_them() {
        for (written, expected) in [
            ("0.5", "500m"),
            ("4", "4"),
            ("100m", "100m"),
            ("1500m", "1500m"),
            ("2000m", "2"),
            ("1000", "1k"),
            ("1.5", "1500m"),
            ("20Mi", "20Mi"),
            ("1024Mi", "1Gi"),
            ("1000Mi", "1000Mi"),
            ("1.5Gi", "1536Mi"),
            ("0.5Ki", "512"),
            ("512Ki", "512Ki"),
            ("1e3", "1e3"),
            ("1.5e3", "1500"),
            ("0", "0"),
            ("0.0001", "100u"),
            ("0.0000000001", "1n"),
            ("-0.5", "-500m"),
            ("+4", "4"),
            ("10G", "10G"),
            ("12e6", "12e6"),
        ] {
            assert_eq!(canonical(written).as_deref(), Some(expected), "{written}");
        }
        for not_a_quantity in ["", "abc", "4x", "1.2.3", "Mi", "."] {
            assert_eq!(canonical(not_a_quantity), None, "{not_a_quantity}");
        }
    }

    #[test]
    fn numbers_in_pod_specs_become_canonical_strings() {
        let mut pod = json!({
            "containers": [{"name": "", "resources": {"requests": {"cpu": 0.5, "memory": "1024Mi"}, "limits": {"cpu": 4}}}],
            "initContainers": [{"resources": {"requests": {"cpu": "x"}}}],
            "overhead": {"cpu": 1.5},
            "volumes": [{"name": "tmp", "emptyDir": {"sizeLimit": 1000}}]
        });
        canonical_pod_spec(&mut pod);
        assert_eq!(
            pod["containers"][0]["resources"]["requests"],
            json!({"cpu": "500m", "memory": "1Gi"})
        );
        assert_eq!(pod["containers"][0]["resources"]["limits"]["cpu"], "4");
        assert_eq!(
            pod["initContainers"][0]["resources"]["requests"]["cpu"], "x",
            "left for check"
        );
        assert_eq!(pod["overhead"]["cpu"], "1500m");
        assert_eq!(pod["volumes"][0]["emptyDir"]["sizeLimit"], "1k");
    }
}
