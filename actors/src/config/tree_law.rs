//! The law the quick TOML reader (`tree`) is held to, for the tests and
//! the fuzzer (`fuzz/fuzz_targets/toml_tree.rs`): whatever it reads,
//! `toml`'s own path (`layer::toml_table`) reads the same, tree and key
//! order; whatever `toml` refuses, it leaves to `toml`.

use super::layer::toml_table;
use super::tree::table;

/// Every key of every table, depth first, in order: `Table`'s own
/// equality ignores the order.
fn keys(table: &toml::Table, into: &mut Vec<String>) {
    for (key, value) in table {
        into.push(key.clone());
        walk(value, into);
    }
}

fn walk(value: &toml::Value, into: &mut Vec<String>) {
    match value {
        toml::Value::Table(table) => {
            into.push("{".to_owned());
            keys(table, into);
            into.push("}".to_owned());
        }
        toml::Value::Array(items) => items.iter().for_each(|item| walk(item, into)),
        _ => {}
    }
}

/// The law, for the tests and the fuzzer: what is read here, `toml` reads
/// the same, key order too; what `toml` refuses is not read here. Panics
/// when it does not hold.
pub(crate) fn same_as_toml(text: &str) -> Option<toml::Table> {
    let ours = table(text);
    match (&ours, toml_table(text)) {
        (Some(ours), Ok(theirs)) => {
            // Text, not `==`: `nan` is not equal to itself.
            assert_eq!(ours.to_string(), theirs.to_string(), "{text}");
            let (mut a, mut b) = (Vec::new(), Vec::new());
            keys(ours, &mut a);
            keys(&theirs, &mut b);
            assert_eq!(a, b, "{text}");
        }
        (Some(ours), Err(err)) => {
            panic!("read {ours:?}, toml refuses: {}\n{text}", err.message)
        }
        (None, _) => {}
    }
    ours
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn reads_the_documents_config_files_are() {
        for text in [
            "",
            "# only a comment\n\n",
            "model = \"o3\"\nflag = true\nn = 0x7f\nm = -17\nf = 1_0.5e3\nd = 1979-05-27T07:32:00Z\n",
            "a = [1, 'two', [3.0, {x = 4}], {}]\nb = { c = [], d = { e = 'f' } }\n",
            "[mcp_servers.docs]\ncommand = \"npx\"\nargs = [\"-y\", \"docs\"]\nenv = { K = \"v\" }\n\
             [mcp_servers.'web site']\nurl = \"https://x.example/mcp\"\n",
            "top = 1\n[a.b]\nc = 1\n[a]\nd = 2\n[a.e]\n[z]\n",
            "[x.y.z]\n[x]\n[x.w]\nk = 'v'\n",
            "[\"quoted \\u00e9\"]\n'lit' = \"s\\n\"\nml = '''\nmulti\n'''\n",
            "n = nan\ni = -inf\nt = 07:32:00\nday = 1979-05-27\n",
        ] {
            assert!(same_as_toml(text).is_some(), "not read here: {text}");
        }
    }

    /// The documented examples take the quick way, not `toml`'s.
    #[test]
    fn reads_the_example_files() {
        let examples = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/examples");
        for file in ["config.toml", "requirements.toml"] {
            let text = std::fs::read_to_string(examples.join(file)).expect("an example");
            assert!(same_as_toml(&text).is_some(), "{file}");
        }
    }

    #[test]
    fn leaves_the_rest_to_toml() {
        for text in [
            // toml's own refusals
            "a = ",
            "a = 1\na = 2",
            "[t]\n[t]",
            "[a.b]\n[a]\nb = 1\n",
            "a = 1\n[a.b]\n",
            "a = { b = 1 }\n[a.c]\n",
            "a = { b = 1 }\n[a]\n",
            "[a]\nb = { x = 1 }\n[a.b.c]\n",
            "x = { y = 1, y = 2 }",
            "a = 1979-13-01",
            "a = 9223372036854775808",
            "c = 1e999",
            // valid, with rules of their own
            "a.b = 1",
            "a = { b.c = 1 }",
            "[[servers]]\nname = 'x'\n",
            // a header under a table defined before the last header
            "[a]\n[b]\n[a.c]\n",
        ] {
            assert_eq!(same_as_toml(text), None, "{text}");
        }
    }

    /// Lines from which documents are drawn: headers that nest, reopen
    /// and clash, pairs that repeat, inline tables, dotted keys, arrays of
    /// tables and broken lines.
    fn line() -> impl Strategy<Value = &'static str> {
        prop::sample::select(vec![
            "[a]",
            "[a.b]",
            "[a.b.c]",
            "[b]",
            "['a'.\"b\"]",
            "[[a]]",
            "[[a.b]]",
            "a = 1",
            "b = 'x'",
            "c = [1, 2]",
            "b = { x = 1 }",
            "c = { y = [ {} ] }",
            "a.b = 2",
            "d = 1979-05-27",
            "e = 0x10",
            "f = 1e999",
            "# note",
            "",
            "g = ",
            "[",
        ])
    }

    proptest! {
        // About a fifth of these documents are read here, a quarter are
        // valid TOML.
        #![proptest_config(ProptestConfig::with_cases(2000))]
        #[test]
        fn whatever_is_read_here_toml_reads_the_same(lines in prop::collection::vec(line(), 0..12)) {
            same_as_toml(&lines.join("\n"));
        }
    }
}
