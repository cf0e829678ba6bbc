//! The two namespaces a Hasura cluster is laid out in: the platform's (`hasura`) and the
//! user's own (`default`), and the words `-n` accepts for them.

/// The two namespaces the dashboard shows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Namespaces {
    pub hasura: String,
    pub user: String,
    /// Why the user namespace is this one: `--user-namespace`, `the context's`, or `default`.
    pub user_source: &'static str,
}

impl Namespaces {
    /// `-n` takes `hasura`, `user`, or a literal namespace.
    pub fn resolve(&self, word: &str) -> String {
        match word {
            "hasura" => self.hasura.clone(),
            "user" => self.user.clone(),
            other => other.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn namespace_words() {
        let ns = Namespaces {
            hasura: "hasura".into(),
            user: "apps".into(),
            user_source: "the context's",
        };
        assert_eq!(ns.resolve("user"), "apps");
        assert_eq!(ns.resolve("hasura"), "hasura");
        assert_eq!(ns.resolve("kube-system"), "kube-system");
    }
}
