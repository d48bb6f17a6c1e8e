//! Whom the trigger trusts (reference §7.1): the bot, a `trusted_apps` app, an org member, a
//! collaborator unless `only_org_members`, or a member of `trusted_org`. A pure function of the
//! answers to membership questions: [`verdict`] says either the answer or the next question, so
//! the caller asks GitHub only what the decision needs, in upstream's order, and never twice.

use prow_api::pluginconfig::TriggerConfig;

/// Where trust is decided: a repository, its bot and its trigger settings.
#[derive(Clone, Copy, Debug)]
pub struct Policy<'a> {
    /// The repository's org.
    pub org: &'a str,
    /// The repository's name.
    pub repo: &'a str,
    /// The bot's login (always trusted).
    pub bot: &'a str,
    /// The trigger settings for the repository.
    pub settings: &'a TriggerConfig,
}

/// A membership question about the user whose trust is decided.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Question {
    /// Is the user a member of this org?
    OrgMember(String),
    /// Is the user a collaborator of the policy's repository?
    Collaborator,
}

/// What the trust decision needs next.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Decided: whether the user is trusted.
    Trusted(bool),
    /// Answer this question, then ask again with the answer added.
    Ask(Question),
}

/// Whether `user` is trusted under `policy`, given the `answers` known so far, or the next
/// question to answer. The questions come in upstream's order: org membership, collaborator
/// (unless `only_org_members`), then membership of `trusted_org` (when it is another org).
pub fn verdict(policy: &Policy<'_>, user: &str, answers: &[(Question, bool)]) -> Verdict {
    if user == policy.bot {
        return Verdict::Trusted(true);
    }
    if let Some(app) = user.strip_suffix("[bot]")
        && policy.settings.trusted_apps.iter().any(|a| a == app)
    {
        return Verdict::Trusted(true);
    }
    let mut questions = vec![Question::OrgMember(policy.org.to_string())];
    if !policy.settings.only_org_members.unwrap_or(false) {
        questions.push(Question::Collaborator);
    }
    if let Some(other) = policy.settings.trusted_org.as_deref()
        && !other.eq_ignore_ascii_case(policy.org)
    {
        questions.push(Question::OrgMember(other.to_string()));
    }
    for question in questions {
        match answers.iter().find(|(asked, _)| *asked == question) {
            Some((_, true)) => return Verdict::Trusted(true),
            Some((_, false)) => {}
            None => return Verdict::Ask(question),
        }
    }
    Verdict::Trusted(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(settings: &TriggerConfig) -> Policy<'_> {
        Policy {
            org: "acme",
            repo: "app",
            bot: "acme-bot",
            settings,
        }
    }

    /// Answers every question with `answer` until decided; the questions asked, in order.
    fn decide(policy: &Policy<'_>, user: &str, answer: impl Fn(&Question) -> bool) -> (bool, Vec<Question>) {
        let mut answers = Vec::new();
        loop {
            match verdict(policy, user, &answers) {
                Verdict::Trusted(trusted) => return (trusted, answers.into_iter().map(|(q, _)| q).collect()),
                Verdict::Ask(question) => {
                    let yes = answer(&question);
                    answers.push((question, yes));
                }
            }
        }
    }

    #[test]
    fn the_bot_and_trusted_apps_are_trusted_without_asking() {
        let settings = TriggerConfig {
            trusted_apps: vec!["renovate".to_string()],
            ..TriggerConfig::default()
        };
        assert_eq!(decide(&policy(&settings), "acme-bot", |_| false), (true, vec![]));
        assert_eq!(decide(&policy(&settings), "renovate[bot]", |_| false), (true, vec![]));
        assert!(!decide(&policy(&settings), "other[bot]", |_| false).0);
    }

    #[test]
    fn questions_come_in_upstreams_order_and_stop_at_the_first_yes() {
        let settings = TriggerConfig {
            trusted_org: Some("friends".to_string()),
            ..TriggerConfig::default()
        };
        let every = vec![
            Question::OrgMember("acme".to_string()),
            Question::Collaborator,
            Question::OrgMember("friends".to_string()),
        ];
        assert_eq!(decide(&policy(&settings), "eve", |_| false), (false, every.clone()));
        assert_eq!(
            decide(&policy(&settings), "member", |q| *q == every[0]),
            (true, every[..1].to_vec())
        );
        assert_eq!(decide(&policy(&settings), "friend", |q| *q == every[2]), (true, every));
    }

    #[test]
    fn only_org_members_skips_collaborators_and_the_own_org_is_not_asked_twice() {
        let settings = TriggerConfig {
            only_org_members: Some(true),
            trusted_org: Some("ACME".to_string()),
            ..TriggerConfig::default()
        };
        assert_eq!(
            decide(&policy(&settings), "collaborator", |q| *q == Question::Collaborator),
            (false, vec![Question::OrgMember("acme".to_string())])
        );
    }
}
