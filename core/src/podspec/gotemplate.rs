//! The subset of Go's `text/template` that `plank.job_url_template` uses, evaluated over a
//! ProwJob as JSON with Go's field names (`.Spec.Refs.Org`, `.Status.BuildID`, `.Name`).
//!
//! Supported: text, `{{ pipeline }}`, `{{if}}`/`{{else if}}`/`{{else}}`/`{{end}}`,
//! `{{with}}`/`{{else}}`, trim markers (`{{-`, `-}}`), comments, field chains on `.` and `$`,
//! string, number and boolean literals, parentheses, pipes (`|`), and the functions `eq`, `ne`,
//! `lt`, `le`, `gt`, `ge`, `and`, `or`, `not`, `len`, `index`, `print` and `printf` (`%s`, `%d`,
//! `%v`). A missing field is Go's zero value and prints as the empty string. Anything else
//! (`range`, variables, `define`) is an error, as a template Go cannot run is.

use serde_json::Value;

/// A template that cannot be parsed or run, with the reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("job_url_template: {0}")]
pub struct TemplateError(String);

fn fail<T>(message: impl Into<String>) -> Result<T, TemplateError> {
    Err(TemplateError(message.into()))
}

/// Runs `template` over `data` (a ProwJob as JSON).
pub fn render(template: &str, data: &Value) -> Result<String, TemplateError> {
    let nodes = Parser::new(lex(template)?).nodes(&[])?.0;
    let mut out = String::new();
    run(&nodes, data, data, &mut out)?;
    Ok(out)
}

#[derive(Debug, Clone, PartialEq)]
enum Piece {
    Text(String),
    Action(String),
}

/// Splits the template into text and actions, applying trim markers and dropping comments.
fn lex(template: &str) -> Result<Vec<Piece>, TemplateError> {
    let mut pieces = Vec::new();
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        let mut text = rest[..start].to_string();
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else {
            return fail("an action is not closed with }}");
        };
        let mut action = &after[..end];
        if let Some(trimmed) = action.strip_prefix("- ") {
            text = text.trim_end().to_string();
            action = trimmed;
        }
        rest = &after[end + 2..];
        if let Some(trimmed) = action.strip_suffix(" -") {
            rest = rest.trim_start();
            action = trimmed;
        }
        if !text.is_empty() {
            pieces.push(Piece::Text(text));
        }
        let action = action.trim();
        if !(action.starts_with("/*") && action.ends_with("*/")) {
            pieces.push(Piece::Action(action.to_string()));
        }
    }
    if !rest.is_empty() {
        pieces.push(Piece::Text(rest.to_string()));
    }
    Ok(pieces)
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Field(Vec<String>, bool),
    Str(String),
    Number(Value),
    Bool(bool),
    Ident(String),
    Open,
    Close,
    Pipe,
}

fn tokens(action: &str) -> Result<Vec<Token>, TemplateError> {
    let chars: Vec<char> = action.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    let word_end = |mut j: usize| {
        while j < chars.len() && !chars[j].is_whitespace() && !matches!(chars[j], '(' | ')' | '|') {
            j += 1;
        }
        j
    };
    while i < chars.len() {
        let c = chars[i];
        match c {
            c if c.is_whitespace() => i += 1,
            '(' => (out.push(Token::Open), i += 1).1,
            ')' => (out.push(Token::Close), i += 1).1,
            '|' => (out.push(Token::Pipe), i += 1).1,
            '"' | '`' => {
                let mut text = String::new();
                i += 1;
                loop {
                    let Some(&next) = chars.get(i) else {
                        return fail(format!("unterminated string in {{{{{action}}}}}"));
                    };
                    i += 1;
                    if next == c {
                        break;
                    }
                    if next == '\\' && c == '"' {
                        let escaped = chars.get(i).copied().unwrap_or('\\');
                        i += 1;
                        text.push(match escaped {
                            'n' => '\n',
                            't' => '\t',
                            other => other,
                        });
                    } else {
                        text.push(next);
                    }
                }
                out.push(Token::Str(text));
            }
            '.' | '$' => {
                let end = word_end(i);
                let word: String = chars[i..end].iter().collect();
                let root = word.starts_with('$');
                let path = word.trim_start_matches('$');
                if root && !path.is_empty() && !path.starts_with('.') {
                    return fail(format!("variables are not supported: {word}"));
                }
                let names = path.split('.').filter(|p| !p.is_empty()).map(str::to_string).collect();
                out.push(Token::Field(names, root));
                i = end;
            }
            _ => {
                let end = word_end(i);
                let word: String = chars[i..end].iter().collect();
                i = end;
                out.push(match word.as_str() {
                    "true" => Token::Bool(true),
                    "false" => Token::Bool(false),
                    _ => match (word.parse::<i64>(), word.parse::<f64>()) {
                        (Ok(number), _) => Token::Number(Value::from(number)),
                        (_, Ok(number)) => Token::Number(Value::from(number)),
                        _ if word.chars().all(|c| c.is_alphanumeric() || c == '_') => Token::Ident(word),
                        _ => return fail(format!("cannot read {word:?} in {{{{{action}}}}}")),
                    },
                });
            }
        }
    }
    Ok(out)
}

/// One argument of a command.
#[derive(Debug, Clone, PartialEq)]
enum Operand {
    Field(Vec<String>, bool),
    Literal(Value),
    Function(String),
    Pipeline(Pipeline),
}

/// Commands joined by `|`: each result is the last argument of the next.
type Pipeline = Vec<Vec<Operand>>;

fn pipeline(tokens: &[Token], at: &mut usize) -> Result<Pipeline, TemplateError> {
    let mut commands = vec![Vec::new()];
    while let Some(token) = tokens.get(*at) {
        *at += 1;
        let operand = match token {
            Token::Close => {
                *at -= 1;
                break;
            }
            Token::Pipe => {
                commands.push(Vec::new());
                continue;
            }
            Token::Open => {
                let inner = pipeline(tokens, at)?;
                if tokens.get(*at) != Some(&Token::Close) {
                    return fail("a ( is not closed");
                }
                *at += 1;
                Operand::Pipeline(inner)
            }
            Token::Field(names, root) => Operand::Field(names.clone(), *root),
            Token::Str(text) => Operand::Literal(Value::String(text.clone())),
            Token::Number(number) => Operand::Literal(number.clone()),
            Token::Bool(flag) => Operand::Literal(Value::Bool(*flag)),
            Token::Ident(name) if name == "nil" => Operand::Literal(Value::Null),
            Token::Ident(name) => Operand::Function(name.clone()),
        };
        if let Some(command) = commands.last_mut() {
            command.push(operand);
        }
    }
    if commands.iter().any(Vec::is_empty) {
        return fail("an empty command");
    }
    Ok(commands)
}

fn parse_pipeline(text: &str) -> Result<Pipeline, TemplateError> {
    let tokens = tokens(text)?;
    let mut at = 0;
    let parsed = pipeline(&tokens, &mut at)?;
    if at != tokens.len() {
        return fail(format!("unexpected ) in {{{{{text}}}}}"));
    }
    Ok(parsed)
}

#[derive(Debug, Clone, PartialEq)]
enum Node {
    Text(String),
    Print(Pipeline),
    /// `if` (or `with` when `with` is set): the branches in order, then the `else`.
    Branch {
        with: bool,
        branches: Vec<(Pipeline, Vec<Node>)>,
        otherwise: Vec<Node>,
    },
}

struct Parser {
    pieces: Vec<Piece>,
    at: usize,
}

impl Parser {
    fn new(pieces: Vec<Piece>) -> Self {
        Self { pieces, at: 0 }
    }

    /// Nodes up to one of the `stops` keywords (`end`, `else`), which is returned.
    fn nodes(&mut self, stops: &[&str]) -> Result<(Vec<Node>, Option<String>), TemplateError> {
        let mut nodes = Vec::new();
        while let Some(piece) = self.pieces.get(self.at).cloned() {
            self.at += 1;
            let action = match piece {
                Piece::Text(text) => {
                    nodes.push(Node::Text(text));
                    continue;
                }
                Piece::Action(action) => action,
            };
            let keyword = action.split_whitespace().next().unwrap_or_default();
            if stops.contains(&keyword) {
                return Ok((nodes, Some(action)));
            }
            match keyword {
                "if" | "with" => nodes.push(self.branch(&action, keyword == "with")?),
                "end" | "else" => return fail(format!("unexpected {{{{{action}}}}}")),
                "range" | "define" | "template" | "block" | "break" | "continue" => {
                    return fail(format!("{{{{{keyword}}}}} is not supported"));
                }
                _ => nodes.push(Node::Print(parse_pipeline(&action)?)),
            }
        }
        if stops.is_empty() {
            Ok((nodes, None))
        } else {
            fail("an {{if}} or {{with}} has no {{end}}")
        }
    }

    fn branch(&mut self, action: &str, with: bool) -> Result<Node, TemplateError> {
        let keyword = if with { "with" } else { "if" };
        let mut condition = parse_pipeline(action[keyword.len()..].trim())?;
        let mut branches = Vec::new();
        loop {
            let (body, stop) = self.nodes(&["end", "else"])?;
            branches.push((condition, body));
            let stop = stop.unwrap_or_default();
            if stop == "end" {
                return Ok(Node::Branch {
                    with,
                    branches,
                    otherwise: Vec::new(),
                });
            }
            let rest = stop["else".len()..].trim();
            if rest.is_empty() {
                let (otherwise, end) = self.nodes(&["end"])?;
                debug_assert!(end.is_some());
                return Ok(Node::Branch {
                    with,
                    branches,
                    otherwise,
                });
            }
            match rest.strip_prefix(keyword) {
                Some(next) => condition = parse_pipeline(next.trim())?,
                None => return fail(format!("unexpected {{{{{stop}}}}}")),
            }
        }
    }
}

fn run(nodes: &[Node], dot: &Value, root: &Value, out: &mut String) -> Result<(), TemplateError> {
    for node in nodes {
        match node {
            Node::Text(text) => out.push_str(text),
            Node::Print(pipe) => out.push_str(&print(&eval(pipe, dot, root)?)),
            Node::Branch {
                with,
                branches,
                otherwise,
            } => {
                let mut taken = false;
                for (condition, body) in branches {
                    let value = eval(condition, dot, root)?;
                    if truthy(&value) {
                        run(body, if *with { &value } else { dot }, root, out)?;
                        taken = true;
                        break;
                    }
                }
                if !taken {
                    run(otherwise, dot, root, out)?;
                }
            }
        }
    }
    Ok(())
}

fn eval(pipe: &Pipeline, dot: &Value, root: &Value) -> Result<Value, TemplateError> {
    let mut previous: Option<Value> = None;
    for command in pipe {
        let mut args = Vec::new();
        let (head, rest) = command
            .split_first()
            .ok_or_else(|| TemplateError("an empty command".into()))?;
        for operand in rest {
            args.push(operand_value(operand, dot, root)?);
        }
        args.extend(previous.take());
        previous = Some(match head {
            Operand::Function(name) => call(name, &args)?,
            other if args.is_empty() => operand_value(other, dot, root)?,
            _ => return fail("only functions take arguments"),
        });
    }
    Ok(previous.unwrap_or(Value::Null))
}

fn operand_value(operand: &Operand, dot: &Value, root: &Value) -> Result<Value, TemplateError> {
    match operand {
        Operand::Field(names, from_root) => Ok(lookup(if *from_root { root } else { dot }, names)),
        Operand::Literal(value) => Ok(value.clone()),
        Operand::Pipeline(pipe) => eval(pipe, dot, root),
        Operand::Function(name) => call(name, &[]),
    }
}

/// Follows Go field names through JSON keys: `BuildID` finds `build_id`, `StartTime` finds
/// `startTime`, and the fields of the embedded `ObjectMeta` (`.Name`) are found in `metadata`.
fn lookup(value: &Value, names: &[String]) -> Value {
    let mut current = value.clone();
    for name in names {
        let wanted = normal(name);
        let found = match &current {
            Value::Object(map) => map
                .iter()
                .find(|(key, _)| normal(key) == wanted || (wanted == "objectmeta" && *key == "metadata"))
                .map(|(_, v)| v.clone())
                .or_else(|| map.get("metadata").map(|meta| lookup(meta, std::slice::from_ref(name))))
                .unwrap_or(Value::Null),
            _ => Value::Null,
        };
        current = found;
    }
    current
}

fn normal(name: &str) -> String {
    name.chars()
        .filter(|c| *c != '_')
        .flat_map(char::to_lowercase)
        .collect()
}

fn truthy(value: &Value) -> bool {
    match value {
        Value::Null => false,
        Value::Bool(flag) => *flag,
        Value::Number(number) => number.as_f64().is_some_and(|n| n != 0.0),
        Value::String(text) => !text.is_empty(),
        Value::Array(items) => !items.is_empty(),
        Value::Object(_) => true,
    }
}

fn print(value: &Value) -> String {
    match value {
        Value::Null => String::new(),
        Value::String(text) => text.clone(),
        Value::Number(number) => match number.as_f64() {
            Some(n) if n.fract() == 0.0 && n.abs() < 1e15 => format!("{}", n as i64),
            _ => number.to_string(),
        },
        Value::Bool(flag) => flag.to_string(),
        Value::Array(items) => format!("[{}]", items.iter().map(print).collect::<Vec<_>>().join(" ")),
        Value::Object(_) => value.to_string(),
    }
}

/// Compares as Go's `eq` and `lt` do; a missing value equals the other side's zero value.
fn compare(a: &Value, b: &Value) -> Option<std::cmp::Ordering> {
    match (a, b) {
        (Value::Null, Value::Null) => Some(std::cmp::Ordering::Equal),
        (Value::Null, other) | (other, Value::Null) if !truthy(other) => Some(std::cmp::Ordering::Equal),
        (Value::Null, Value::String(_)) => Some(std::cmp::Ordering::Less),
        (Value::String(_), Value::Null) => Some(std::cmp::Ordering::Greater),
        (Value::String(x), Value::String(y)) => Some(x.cmp(y)),
        (Value::Number(x), Value::Number(y)) => x.as_f64()?.partial_cmp(&y.as_f64()?),
        (Value::Bool(x), Value::Bool(y)) => Some(x.cmp(y)),
        _ => None,
    }
}

fn call(name: &str, args: &[Value]) -> Result<Value, TemplateError> {
    use std::cmp::Ordering::{Equal, Greater, Less};
    let two = || match args {
        [a, b] => compare(a, b).ok_or_else(|| TemplateError(format!("{name}: incompatible values {a} and {b}"))),
        _ => fail(format!("{name} takes two arguments")),
    };
    Ok(match name {
        "eq" => {
            let (first, others) = args
                .split_first()
                .ok_or_else(|| TemplateError("eq needs arguments".into()))?;
            Value::Bool(others.iter().any(|other| compare(first, other) == Some(Equal)))
        }
        "ne" => Value::Bool(two()? != Equal),
        "lt" => Value::Bool(two()? == Less),
        "le" => Value::Bool(two()? != Greater),
        "gt" => Value::Bool(two()? == Greater),
        "ge" => Value::Bool(two()? != Less),
        "and" => args
            .iter()
            .find(|a| !truthy(a))
            .or(args.last())
            .cloned()
            .unwrap_or(Value::Null),
        "or" => args
            .iter()
            .find(|a| truthy(a))
            .or(args.last())
            .cloned()
            .unwrap_or(Value::Null),
        "not" => Value::Bool(!args.first().is_some_and(truthy)),
        "len" => match args.first() {
            Some(Value::String(text)) => Value::from(text.len()),
            Some(Value::Array(items)) => Value::from(items.len()),
            Some(Value::Object(map)) => Value::from(map.len()),
            _ => return fail("len of a value without a length"),
        },
        "index" => {
            let (first, keys) = args
                .split_first()
                .ok_or_else(|| TemplateError("index needs arguments".into()))?;
            let mut current = first.clone();
            for key in keys {
                current = match (&current, key) {
                    (Value::Array(items), Value::Number(n)) => n
                        .as_u64()
                        .and_then(|i| items.get(usize::try_from(i).ok()?))
                        .cloned()
                        .ok_or_else(|| TemplateError(format!("index {n} out of range")))?,
                    (Value::Object(map), Value::String(k)) => map.get(k).cloned().unwrap_or(Value::Null),
                    _ => return fail(format!("cannot index {current} with {key}")),
                };
            }
            current
        }
        "print" => Value::String(args.iter().map(print).collect()),
        "printf" => {
            let (format, values) = args
                .split_first()
                .ok_or_else(|| TemplateError("printf needs a format".into()))?;
            Value::String(printf(&print(format), values))
        }
        other => return fail(format!("function {other:?} is not supported")),
    })
}

fn printf(format: &str, values: &[Value]) -> String {
    let mut out = String::new();
    let mut values = values.iter();
    let mut chars = format.chars();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('%') => out.push('%'),
            Some(_) => out.push_str(&values.next().map(print).unwrap_or_default()),
            None => out.push('%'),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn job(job_type: &str, org: &str, repo: &str) -> Value {
        json!({
            "metadata": {"name": "abc-123"},
            "spec": {"type": job_type, "job": "unit", "refs": {"org": org, "repo": repo, "pulls": [{"number": 42, "author": "a", "sha": "s"}]}},
            "status": {"state": "pending", "build_id": "777"}
        })
    }

    /// The template of kubernetes' and gardener's config.yaml (in the shared corpus).
    const K8S: &str = r#"https://prow.k8s.io/view/gs/kubernetes-ci-logs/{{if eq .Spec.Type "presubmit"}}pr-logs/pull{{else if eq .Spec.Type "batch"}}pr-logs/pull{{else}}logs{{end}}{{if .Spec.Refs}}{{if ne .Spec.Refs.Org ""}}{{if ne .Spec.Refs.Org "kubernetes"}}/{{if and (eq .Spec.Refs.Org "kubernetes-sigs") (ne .Spec.Refs.Repo "poseidon")}}sigs.k8s.io{{else}}{{.Spec.Refs.Org}}{{end}}_{{.Spec.Refs.Repo}}{{else if ne .Spec.Refs.Repo "kubernetes"}}/{{.Spec.Refs.Repo}}{{end}}{{end}}{{end}}{{if eq .Spec.Type "presubmit"}}/{{with index .Spec.Refs.Pulls 0}}{{.Number}}{{end}}{{else if eq .Spec.Type "batch"}}/batch{{end}}/{{.Spec.Job}}/{{.Status.BuildID}}/"#;

    #[test]
    fn the_kubernetes_template_runs() {
        assert_eq!(
            render(K8S, &job("presubmit", "kubernetes-sigs", "kind")).unwrap(),
            "https://prow.k8s.io/view/gs/kubernetes-ci-logs/pr-logs/pull/sigs.k8s.io_kind/42/unit/777/"
        );
        assert_eq!(
            render(K8S, &job("presubmit", "kubernetes", "test-infra")).unwrap(),
            "https://prow.k8s.io/view/gs/kubernetes-ci-logs/pr-logs/pull/test-infra/42/unit/777/"
        );
        assert_eq!(
            render(K8S, &job("postsubmit", "org", "repo")).unwrap(),
            "https://prow.k8s.io/view/gs/kubernetes-ci-logs/logs/org_repo/unit/777/"
        );
        let mut periodic = job("periodic", "", "");
        periodic["spec"].as_object_mut().map(|s| s.remove("refs"));
        assert_eq!(
            render(K8S, &periodic).unwrap(),
            "https://prow.k8s.io/view/gs/kubernetes-ci-logs/logs/unit/777/"
        );
    }

    #[test]
    fn fields_functions_and_trim_markers() {
        let data = job("batch", "o", "r");
        assert_eq!(
            render("{{.Name}} {{ .ObjectMeta.Name }}", &data).unwrap(),
            "abc-123 abc-123"
        );
        assert_eq!(render("a  {{- .Spec.Job -}}  b", &data).unwrap(), "aunitb");
        assert_eq!(
            render(r#"{{if or (eq .Spec.Type "presubmit") (eq .Spec.Type "batch")}}pr{{with .Spec.Refs}}/{{.Org}}_{{.Repo}}{{end}}{{end}}"#, &data).unwrap(),
            "pr/o_r"
        );
        assert_eq!(render(r#"{{printf "%s-%d" .Spec.Job 7}}"#, &data).unwrap(), "unit-7");
        assert_eq!(
            render("{{.Spec.Job | len}} {{.Status.JenkinsBuildID}}|", &data).unwrap(),
            "4 |"
        );
        assert_eq!(render("{{/* a comment */}}x", &data).unwrap(), "x");
    }

    #[test]
    fn what_go_cannot_run_is_an_error() {
        let data = job("presubmit", "o", "r");
        assert!(render("{{range .Spec.Refs.Pulls}}x{{end}}", &data).is_err());
        assert!(render("{{if .Spec.Job}}x", &data).is_err());
        assert!(render("{{.Spec.Job", &data).is_err());
        assert!(render("{{index .Spec.Refs.Pulls 3}}", &data).is_err());
        assert!(render("{{nosuch .Spec.Job}}", &data).is_err());
    }
}
