//! Rows for the shell reader: every construct, rendered.

use expect_test::{Expect, expect};
use proptest::prelude::*;

use super::*;

fn render(parsed: &Parsed) -> String {
    let mut out = String::new();
    if let Parsed::Unparsed { reason, .. } = parsed {
        out.push_str(&format!("unparsed: {reason}\n"));
    }
    for command in parsed.commands() {
        if command.is_wrapper {
            out.push_str("wrapper: ");
        }
        let words: Vec<String> = command
            .argv
            .iter()
            .map(|word| match word {
                Word::Literal(value) => quote_word(value),
                Word::Dynamic(raw) => format!("dyn({raw})"),
                Word::Fields(raw) => format!("fields({raw})"),
            })
            .collect();
        out.push_str(&words.join(" "));
        out.push('\n');
    }
    if out.is_empty() {
        out.push_str("(none)\n");
    }
    out
}

fn check(script: &str, expect: Expect) {
    expect.assert_eq(&render(&parse_script(script)));
}

fn check_argv(argv: &[&str], expect: Expect) {
    let argv: Vec<String> = argv.iter().map(|arg| arg.to_string()).collect();
    expect.assert_eq(&render(&commands_of(&argv)));
}

#[test]
fn lists_and_pipelines() {
    check(
        "git push",
        expect![[r#"
        git push
    "#]],
    );
    check(
        "git  push origin",
        expect![[r#"
        git push origin
    "#]],
    );
    check(
        "cd x && git push",
        expect![[r#"
        cd x
        git push
    "#]],
    );
    check(
        "echo ok; git push",
        expect![[r#"
        echo ok
        git push
    "#]],
    );
    check(
        "true || git push",
        expect![[r#"
        true
        git push
    "#]],
    );
    check(
        "ls | git push",
        expect![[r#"
        ls
        git push
    "#]],
    );
    check(
        "ls |& cat",
        expect![[r#"
        ls
        cat
    "#]],
    );
    check(
        "a & b &",
        expect![[r#"
        a
        b
    "#]],
    );
    check(
        "a\nb\n\n",
        expect![[r#"
        a
        b
    "#]],
    );
    check(
        "a &&\n b ||\n\n c |\n d",
        expect![[r#"
        a
        b
        c
        d
    "#]],
    );
    check(
        "",
        expect![[r#"
        (none)
    "#]],
    );
    check(
        "! git push",
        expect![[r#"
        git push
    "#]],
    );
    check(
        "a | ! b",
        expect![[r#"
        a
        b
    "#]],
    );
}

#[test]
fn compound_commands() {
    check(
        "(git push)",
        expect![[r#"
        git push
    "#]],
    );
    check(
        "{ git push; }",
        expect![[r#"
        git push
    "#]],
    );
    check(
        "( a; (b) ) > log",
        expect![[r#"
        a
        b
    "#]],
    );
    check(
        "{ { a; } }",
        expect![[r#"
        a
    "#]],
    );
    check(
        "if a; then b; elif c; then d; else e; fi",
        expect![[r#"
        a
        b
        c
        d
        e
    "#]],
    );
    check(
        "if a\nthen\n  b\nfi",
        expect![[r#"
        a
        b
    "#]],
    );
    check(
        "while a; do b; done; until c; do d; done",
        expect![[r#"
        a
        b
        c
        d
    "#]],
    );
    check(
        "for x in a $(b); do c $x; done",
        expect![[r#"
        b
        c fields($x)
    "#]],
    );
    check(
        "for x\ndo c; done",
        expect![[r#"
        c
    "#]],
    );
    check(
        "for ((i = 0; i < 3; i++)); do c; done",
        expect![[r#"
        c
    "#]],
    );
    check(
        "select x in a b; do c; done",
        expect![[r#"
        c
    "#]],
    );
    check(
        "case $x in a|b) c;; (d) e ;& *) f;;& g) esac",
        expect![[r#"
            c
            e
            f
        "#]],
    );
    check(
        "case x in\n  a) ;;\n  b)\n    c\n    ;;\nesac",
        expect![[r#"
        c
    "#]],
    );
    check(
        "case $(a) in $(b)) c;; esac",
        expect![[r#"
        a
        b
        c
    "#]],
    );
    check(
        "[[ -f $(git push) && $x =~ ^(a|b)$ ]] && c",
        expect![[r#"
        git push
        c
    "#]],
    );
    check(
        "((x++)) && a",
        expect![[r#"
        a
    "#]],
    );
    check(
        "((a) )",
        expect![[r#"
        a
    "#]],
    );
    check(
        "time git push",
        expect![[r#"
        wrapper: time git push
        git push
    "#]],
    );
    check(
        "time { a; b; } 2>&1",
        expect![[r#"
        a
        b
    "#]],
    );
    check(
        "coproc a",
        expect![[r#"
        a
    "#]],
    );
}

#[test]
fn functions() {
    check(
        "f() { git push; }; f",
        expect![[r#"
        git push
        f
    "#]],
    );
    check(
        "f ()\n{\n  a\n}",
        expect![[r#"
        a
    "#]],
    );
    check(
        "function g { h; }",
        expect![[r#"
        h
    "#]],
    );
    check(
        "function g() ( h )",
        expect![[r#"
        h
    "#]],
    );
    check(
        "f() ls",
        expect![[r#"
        unparsed: unexpected `ls`
    "#]],
    );
}

#[test]
fn quoting() {
    check(
        "'git' \"push\"",
        expect![[r#"
        git push
    "#]],
    );
    check(
        "git pu\"sh\"",
        expect![[r#"
        git push
    "#]],
    );
    check(
        r"g\it push",
        expect![[r#"
        git push
    "#]],
    );
    check(
        r#"echo "a \" \\ \$ \` \n b""#,
        expect![[r#"
        echo 'a " \ $ ` \n b'
    "#]],
    );
    check(
        r#"echo 'a"b\' "it's""#,
        expect![[r#"
        echo 'a"b\' 'it'\''s'
    "#]],
    );
    check(
        "git \\\n  push",
        expect![[r#"
        git push
    "#]],
    );
    check(
        "gi\\\nt push",
        expect![[r#"
        git push
    "#]],
    );
    check(
        r"echo $'a\tb' $'\x41\101\u00e9' $'\cA' $'it\'s'",
        expect![[r#"
        echo 'a	b' 'AAé' dyn($'\cA') 'it'\''s'
    "#]],
    );
    check(
        r#"echo $"hi" '' """#,
        expect![[r#"
        echo hi '' ''
    "#]],
    );
    check(
        "echo a$ $ \"$\"",
        expect![[r#"
        echo 'a$' '$' '$'
    "#]],
    );
    check(
        "if 'then' fi; \\if",
        expect![[r#"
        unparsed: unexpected end of script
        then fi
        if
    "#]],
    );
}

#[test]
fn comments() {
    check(
        "git push #comment",
        expect![[r#"
        git push
    "#]],
    );
    check(
        "echo a#b # c; d\ne",
        expect![[r#"
        echo 'a#b'
        e
    "#]],
    );
    check(
        "# only a comment",
        expect![[r#"
        (none)
    "#]],
    );
    check(
        "echo '#' \"#\" \\#",
        expect![[r#"
        echo '#' '#' '#'
    "#]],
    );
}

#[test]
fn redirections() {
    check(
        "git push >f 2>&1 <in >>log &>all &>>both 3<>rw >|clobber",
        expect![[r#"
        git push
    "#]],
    );
    check(
        "cat <<<word; cat <<< \"$(git push)\"",
        expect![[r#"
        cat
        git push
        cat
    "#]],
    );
    check(
        "exec {fd}>file 2>&-",
        expect![[r#"
        exec
    "#]],
    );
    check(
        ">out",
        expect![[r#"
        (none)
    "#]],
    );
    check(
        "echo >$(git push)",
        expect![[r#"
        git push
        echo
    "#]],
    );
    check(
        "echo a2>x 2> y",
        expect![[r#"
        echo a2
    "#]],
    );
    check(
        "{ a; } >f",
        expect![[r#"
        a
    "#]],
    );
}

#[test]
fn heredocs() {
    check(
        "cat <<EOF\ngit push\nEOF",
        expect![[r#"
        cat
    "#]],
    );
    check(
        "cat <<EOF\ngit push\nEOF\necho after",
        expect![[r#"
        cat
        echo after
    "#]],
    );
    check(
        "cat <<-EOF\n\tgit push\n\tEOF\necho after",
        expect![[r#"
        cat
        echo after
    "#]],
    );
    check(
        "cat <<'EOF'\n$(git push)\nEOF",
        expect![[r#"
        cat
    "#]],
    );
    check(
        "cat <<\"EOF\"\n`git push`\nEOF",
        expect![[r#"
        cat
    "#]],
    );
    check(
        "cat <<EOF\n$(git push) `rm x` \\$(not)\nEOF",
        expect![[r#"
        git push
        rm x
        cat
    "#]],
    );
    check(
        "cat <<A <<B; c\na\nA\nb\nB\nd",
        expect![[r#"
        cat
        c
        d
    "#]],
    );
    check(
        "cat <<EOF; git push\nbody\nEOF",
        expect![[r#"
        cat
        git push
    "#]],
    );
    check(
        "cat <<EOF | sh\nx\nEOF",
        expect![[r#"
        cat
        wrapper: sh
        fields(<script from stdin>)
    "#]],
    );
    check(
        "x=$(cat <<EOF\ninner\nEOF\n); y",
        expect![[r#"
        cat
        y
    "#]],
    );
    check(
        "cat <<E\"O\"F\n$(a)\nEOF",
        expect![[r#"
        cat
    "#]],
    );
}

#[test]
fn shells_reading_their_input() {
    check(
        "sh <<EOF\ngit push\nEOF",
        expect![[r#"
        wrapper: sh
        git push
    "#]],
    );
    check(
        "sh <<EOF | cat\ngit push\nEOF",
        expect![[r#"
        wrapper: sh
        git push
        cat
    "#]],
    );
    check(
        "bash <<'EOF'\n$X push\nEOF",
        expect![[r#"
        wrapper: bash
        fields($X) push
    "#]],
    );
    check(
        "sh <<EOF\necho $X\nEOF",
        expect![[r#"
        wrapper: sh
        echo fields($X)
        fields(<here-document expansions>)
    "#]],
    );
    check(
        "bash <<< 'git push'; sh <<< \"$X\"",
        expect![[r#"
        wrapper: bash
        git push
        wrapper: sh
        fields("$X")
    "#]],
    );
    check(
        "echo 'git push' | sh",
        expect![[r#"
        echo 'git push'
        wrapper: sh
        fields(<script from stdin>)
    "#]],
    );
    check(
        "sh < script.sh",
        expect![[r#"
        wrapper: sh
        fields(<script from stdin>)
    "#]],
    );
    check(
        "sudo sh <<EOF\na\nEOF",
        expect![[r#"
        wrapper: sudo sh
        wrapper: sh
        a
    "#]],
    );
    check(
        "bash -s arg <<EOF\na\nEOF",
        expect![[r#"
        wrapper: bash -s arg
        a
    "#]],
    );
    check(
        "bash script.sh arg",
        expect![[r#"
        bash script.sh arg
    "#]],
    );
    check(
        "ls | xargs sh",
        expect![[r#"
        ls
        wrapper: xargs sh
        wrapper: sh fields(<stdin>)
        fields(<stdin>)
    "#]],
    );
}

#[test]
fn assignments() {
    check(
        "FOO=bar git push",
        expect![[r#"
        git push
    "#]],
    );
    check(
        "FOO=bar",
        expect![[r#"
        (none)
    "#]],
    );
    check(
        "A=1 B=$(git push) c",
        expect![[r#"
        git push
        c
    "#]],
    );
    check(
        "arr=(a $(b) c); d",
        expect![[r#"
        b
        d
    "#]],
    );
    check(
        "x[1]=2 y+=3 z",
        expect![[r#"
        z
    "#]],
    );
    check(
        "echo FOO=bar",
        expect![[r#"
        echo FOO=bar
    "#]],
    );
    check(
        "'A=1' b",
        expect![[r#"
        A=1 b
    "#]],
    );
}

#[test]
fn substitutions() {
    check(
        "$(git push)",
        expect![[r#"
        git push
        fields($(git push))
    "#]],
    );
    check(
        "`git push`",
        expect![[r#"
        git push
        fields(`git push`)
    "#]],
    );
    check(
        "echo \"$(git push)\"",
        expect![[r#"
        git push
        echo dyn("$(git push)")
    "#]],
    );
    check(
        "echo $(echo $(git push))",
        expect![[r#"
        git push
        echo fields($(git push))
        echo fields($(echo $(git push)))
    "#]],
    );
    check(
        "echo \"$(echo \")\")\"",
        expect![[r#"
        echo ')'
        echo dyn("$(echo ")")")
    "#]],
    );
    check(
        "echo `echo \\`git push\\``",
        expect![[r#"
        git push
        echo fields(`git push`)
        echo fields(`echo \`git push\``)
    "#]],
    );
    check(
        "diff <(ls a) >(cat)",
        expect![[r#"
        ls a
        cat
        diff dyn(<(ls a)) dyn(>(cat))
    "#]],
    );
    check(
        "echo ${x:-$(git push)} \"${y:-`z`}\"",
        expect![[r#"
        git push
        z
        echo fields(${x:-$(git push)}) dyn("${y:-`z`}")
    "#]],
    );
    check(
        "echo $((1 + $(git push))) $((2*3))",
        expect![[r#"
        git push
        echo fields($((1 + $(git push)))) fields($((2*3)))
    "#]],
    );
    check(
        "echo $((a) )",
        expect![[r#"
        a
        echo fields($((a) ))
    "#]],
    );
    check(
        "echo $(case x in a) b;; esac)",
        expect![[r#"
        b
        echo fields($(case x in a) b;; esac))
    "#]],
    );
    check(
        "echo $(# comment\na)",
        expect![[r#"
        a
        echo fields($(# comment
        a))
    "#]],
    );
}

#[test]
fn dynamic_words() {
    check(
        "$G push",
        expect![[r#"
        fields($G) push
    "#]],
    );
    check(
        "git $X",
        expect![[r#"
        git fields($X)
    "#]],
    );
    check(
        "git \"$X\" a\"${Y}\"b",
        expect![[r#"
        git dyn("$X") dyn(a"${Y}"b)
    "#]],
    );
    check(
        "ls *.rs a?c [ab] a[b ~/x x~ {a,b} {1..3} {} {x}",
        expect![[r#"
        ls fields(*.rs) fields(a?c) fields([ab]) 'a[b' dyn(~/x) 'x~' fields({a,b}) fields({1..3}) '{}' '{x}'
    "#]],
    );
    check(
        "echo \"$@\" \"${a[@]}\" \"$*\" ${#x} $1 $?",
        expect![[r#"
        echo fields("$@") fields("${a[@]}") dyn("$*") fields(${#x}) fields($1) fields($?)
    "#]],
    );
    check(
        "echo '$X' \"\\$X\" \\$X '*'",
        expect![[r#"
        echo '$X' '$X' '$X' '*'
    "#]],
    );
    check(
        "{git,push}",
        expect![[r#"
        fields({git,push})
    "#]],
    );
    check(
        "[ -f x ]",
        expect![[r#"
        '[' -f x ']'
    "#]],
    );
}

#[test]
fn nested_shells_and_eval() {
    check(
        "bash -c 'git push'",
        expect![[r#"
        wrapper: bash -c 'git push'
        git push
    "#]],
    );
    check(
        "sh -c \"cd /tmp && git push\"",
        expect![[r#"
        wrapper: sh -c 'cd /tmp && git push'
        cd /tmp
        git push
    "#]],
    );
    check(
        "/bin/zsh -lc 'a; b' name arg",
        expect![[r#"
        wrapper: /bin/zsh -lc 'a; b' name arg
        a
        b
    "#]],
    );
    check(
        "bash -o pipefail -ec 'a | b'",
        expect![[r#"
        wrapper: bash -o pipefail -ec 'a | b'
        a
        b
    "#]],
    );
    check(
        "dash -c -- 'a'",
        expect![[r#"
        wrapper: dash -c -- a
        a
    "#]],
    );
    check(
        "bash script.sh; sh",
        expect![[r#"
        bash script.sh
        wrapper: sh
        fields(<script from stdin>)
    "#]],
    );
    check(
        "bash -c \"$X\"",
        expect![[r#"
        wrapper: bash -c dyn("$X")
        fields("$X")
    "#]],
    );
    check(
        "bash $OPTS",
        expect![[r#"
        wrapper: bash fields($OPTS)
        fields($OPTS)
    "#]],
    );
    check(
        "eval git push",
        expect![[r#"
        wrapper: eval git push
        git push
    "#]],
    );
    check(
        "eval 'a; b' c",
        expect![[r#"
        wrapper: eval 'a; b' c
        a
        b c
    "#]],
    );
    check(
        "eval \"echo \\$(git push)\"",
        expect![[r#"
        wrapper: eval 'echo $(git push)'
        git push
        echo fields($(git push))
    "#]],
    );
    check(
        "eval $X",
        expect![[r#"
        wrapper: eval fields($X)
        fields($X)
    "#]],
    );
    check(
        "bash -c 'sh -c \"git push\"'",
        expect![[r#"
        wrapper: bash -c 'sh -c "git push"'
        wrapper: sh -c 'git push'
        git push
    "#]],
    );
}

#[test]
fn wrappers() {
    check(
        "env FOO=1 git push",
        expect![[r#"
        wrapper: env FOO=1 git push
        git push
    "#]],
    );
    check(
        "env -i -u X --unset=Y -C /tmp - A=1 git push",
        expect![[r#"
        wrapper: env -i -u X --unset=Y -C /tmp - A=1 git push
        git push
    "#]],
    );
    check(
        "env",
        expect![[r#"
        env
    "#]],
    );
    check(
        "env -S 'git push' x",
        expect![[r#"
        wrapper: env -S 'git push' x
        git push x
    "#]],
    );
    check(
        "command -p git push",
        expect![[r#"
        wrapper: command -p git push
        git push
    "#]],
    );
    check(
        "builtin eval git push",
        expect![[r#"
        wrapper: builtin eval git push
        wrapper: eval git push
        git push
    "#]],
    );
    check(
        "exec -a name git push",
        expect![[r#"
        wrapper: exec -a name git push
        git push
    "#]],
    );
    check(
        "nohup git push &",
        expect![[r#"
        wrapper: nohup git push
        git push
    "#]],
    );
    check(
        "time -p git push",
        expect![[r#"
        wrapper: time -p git push
        git push
    "#]],
    );
    check(
        "nice -n 5 git push; nice -10 a",
        expect![[r#"
        wrapper: nice -n 5 git push
        git push
        wrapper: nice -10 a
        a
    "#]],
    );
    check(
        "timeout -s KILL --kill-after=2 5 git push",
        expect![[r#"
        wrapper: timeout -s KILL --kill-after=2 5 git push
        git push
    "#]],
    );
    check(
        "timeout 5",
        expect![[r#"
        timeout 5
    "#]],
    );
    check(
        "sudo -u x -E git push",
        expect![[r#"
        wrapper: sudo -u x -E git push
        git push
    "#]],
    );
    check(
        "sudo --user x FOO=1 git push",
        expect![[r#"
        wrapper: sudo --user x FOO=1 git push
        git push
    "#]],
    );
    check(
        "sudo env nice git push",
        expect![[r#"
        wrapper: sudo env nice git push
        wrapper: env nice git push
        wrapper: nice git push
        git push
    "#]],
    );
    check(
        "ls | xargs -n1 -P 4 git",
        expect![[r#"
        ls
        wrapper: xargs -n1 -P 4 git
        git fields(<stdin>)
    "#]],
    );
    check(
        "xargs -I % git % x; xargs -i git x{}; xargs -I \"$R\" a b",
        expect![[r#"
        wrapper: xargs -I % git % x
        git fields(%) x fields(<stdin>)
        wrapper: xargs -i git 'x{}'
        git fields('x{}') fields(<stdin>)
        wrapper: xargs -I dyn("$R") a b
        fields(a) fields(b) fields(<stdin>)
    "#]],
    );
    check(
        "xargs -I{} git {} x",
        expect![[r#"
            wrapper: xargs '-I{}' git '{}' x
            git fields('{}') x fields(<stdin>)
        "#]],
    );
    check(
        "busybox sh -c 'git push'",
        expect![[r#"
        wrapper: busybox sh -c 'git push'
        wrapper: sh -c 'git push'
        git push
    "#]],
    );
    check(
        "stdbuf -oL -e 0 git push",
        expect![[r#"
        wrapper: stdbuf -oL -e 0 git push
        git push
    "#]],
    );
    check(
        "setsid -f git push",
        expect![[r#"
        wrapper: setsid -f git push
        git push
    "#]],
    );
    check(
        "find . -name x -exec rm -f {} \\; -execdir git push +",
        expect![[r#"
        wrapper: find . -name x -exec rm -f '{}' ';' -execdir git push +
        rm -f fields('{}')
        git push
    "#]],
    );
    check(
        "env \"$X\" git push",
        expect![[r#"
        wrapper: env dyn("$X") git push
        dyn("$X") git push
        git push
    "#]],
    );
    check(
        "sudo -s 'git push'; sudo -i git push",
        expect![[r#"
        wrapper: sudo -s 'git push'
        git push
        'git push'
        wrapper: sudo -i git push
        git push
        git push
    "#]],
    );
    check(
        "watch -n 5 'git push'",
        expect![[r#"
        wrapper: watch -n 5 'git push'
        git push
        'git push'
    "#]],
    );
    check(
        "su -c 'git push' bob; su - bob --command=ls; runuser -l bob -c a",
        expect![[r#"
        wrapper: su -c 'git push' bob
        git push
        wrapper: su - bob --command=ls
        ls
        wrapper: runuser -l bob -c a
        a
    "#]],
    );
    check(
        "su $OPTS",
        expect![[r#"
        wrapper: su fields($OPTS)
        fields($OPTS)
    "#]],
    );
    check(
        "trap 'git push' EXIT; trap - INT; trap -p",
        expect![[r#"
        wrapper: trap 'git push' EXIT
        git push
        trap - INT
        trap -p
    "#]],
    );
    check(
        "alias g='git push' l=ls; g",
        expect![[r#"
        wrapper: alias 'g=git push' l=ls
        git push
        ls
        g
    "#]],
    );
    check(
        "chroot /srv git push; taskset 0x1 a; ionice -c 3 b",
        expect![[r#"
        wrapper: chroot /srv git push
        git push
        wrapper: taskset 0x1 a
        a
        wrapper: ionice -c 3 b
        b
    "#]],
    );
    check(
        "/usr/bin/sudo ./git push",
        expect![[r#"
        wrapper: /usr/bin/sudo ./git push
        ./git push
    "#]],
    );
}

#[test]
fn unparsed() {
    check(
        "git push '",
        expect![[r#"
        unparsed: unterminated single quote
    "#]],
    );
    check(
        "git push \"",
        expect![[r#"
        unparsed: unterminated double quote
    "#]],
    );
    check(
        "echo `a",
        expect![[r#"
        unparsed: unterminated backquote
    "#]],
    );
    check(
        "echo $(a",
        expect![[r#"
        unparsed: unterminated `$(`, `${` or `$((`
        a
    "#]],
    );
    check(
        "echo ${a",
        expect![[r#"
        unparsed: unterminated `$(`, `${` or `$((`
    "#]],
    );
    check(
        "(git push",
        expect![[r#"
        unparsed: unexpected end of script
        git push
    "#]],
    );
    check(
        "git push)",
        expect![[r#"
        unparsed: unexpected `)`
        git push
    "#]],
    );
    check(
        "{ a; ",
        expect![[r#"
        unparsed: unexpected end of script
        a
    "#]],
    );
    check(
        "if a; then b",
        expect![[r#"
        unparsed: unexpected end of script
        a
        b
    "#]],
    );
    check(
        "a &&",
        expect![[r#"
        unparsed: unexpected end of script
        a
    "#]],
    );
    check(
        "a ;; b",
        expect![[r#"
        unparsed: unexpected `;;`
        a
    "#]],
    );
    check(
        "; a",
        expect![[r#"
        unparsed: unexpected `;`
    "#]],
    );
    check(
        "fi",
        expect![[r#"
        unparsed: unexpected `fi`
    "#]],
    );
    check(
        "cat <<EOF\nx",
        expect![[r#"
        unparsed: here-document not terminated by `EOF`
    "#]],
    );
    check(
        "cat <<",
        expect![[r#"
        unparsed: here-document without a delimiter
    "#]],
    );
    check(
        "git push; echo 'oops",
        expect![[r#"
        unparsed: unterminated single quote
        git push
    "#]],
    );
    check(
        "bash -c 'a \"'",
        expect![[r#"
        unparsed: unterminated double quote
        wrapper: bash -c 'a "'
    "#]],
    );
    check(
        "ls *(x)",
        expect![[r#"
        unparsed: unexpected `(`
        ls fields(*)
    "#]],
    );
}

#[test]
fn realistic_agent_script() {
    let script = r##"cd /repo && cargo test 2>&1 | tail -20
rg -n "foo" src/ | head
find . -name '*.rs' -not -path './target/*' | xargs wc -l
sed -n '1,200p' src/main.rs
python3 - <<'PY'
print("hi $x")
PY
cat > file.txt <<'EOF'
line $(not run)
EOF
for f in *.md; do echo "$f"; done
if [ -f x ]; then echo y; fi
git diff --stat && git status --short
apply_patch <<'EOF'
*** Begin Patch
*** Update File: a.rs
@@
-old
+new
*** End Patch
EOF
echo $((1+2)) $(( (3 + 4) * 2 ))
ls -la ~/
awk '{print $1}' file | sort | uniq -c | sort -rn | head
grep -rn "TODO" --include='*.rs' . || true
export PATH="$HOME/.cargo/bin:$PATH"; cargo build
test -d build || mkdir -p build
while read -r line; do echo "$line"; done < file
nl -ba src/lib.rs | sed -n '10,40p'
jq '.items[] | .name' data.json
[[ -n "$X" ]] && echo set
case "$1" in start) echo s;; *) echo other;; esac
printf '%s\n' "a" "b"
trap 'rm -f "$tmp"' EXIT; tmp=$(mktemp); echo > "$tmp"
docker run --rm -v "$PWD":/w -w /w rust:latest cargo test
make -j4 2>&1 | tee build.log
python -c 'import sys; print(sys.version)'
node -e "console.log(1)"
time (cargo build --release)
set -euo pipefail; cargo fmt --check
echo "it's" 'a'"b" $'tab\there'
ls | while read f; do echo $f; done
(cd sub && make)
{ echo a; echo b; } > out.txt
cat <<EOF > config.toml
[section]
key = "$VALUE"
EOF
cargo test -- --nocapture 2>&1 | grep -E "test result|FAILED"
git log --oneline -n 5 --format='%h %s'
for i in $(seq 1 3); do
  echo "$i"
done
if ! command -v rg >/dev/null 2>&1; then
  echo missing
fi
result=$(cat <<'EOF'
text
EOF
)
echo "${result}"
arr=(one two); echo "${arr[@]}"
mkdir -p a/{b,c}/d
echo "nested $(echo "inner $(date)")"
[ "$a" = "b" ] && { echo yes; } || echo no
xargs -0 -I{} sh -c 'echo {}' < list
git commit -m "$(cat <<'EOF'
Message with 'quotes' and $vars
EOF
)"
"##;
    check(
        script,
        expect![[r#"
        cd /repo
        cargo test
        tail -20
        rg -n foo src/
        head
        find . -name '*.rs' -not -path './target/*'
        wrapper: xargs wc -l
        wc -l fields(<stdin>)
        sed -n 1,200p src/main.rs
        python3 -
        cat
        echo dyn("$f")
        '[' -f x ']'
        echo y
        git diff --stat
        git status --short
        apply_patch
        echo fields($((1+2))) fields($(( (3 + 4) * 2 )))
        ls -la dyn(~/)
        awk '{print $1}' file
        sort
        uniq -c
        sort -rn
        head
        grep -rn TODO '--include=*.rs' .
        true
        export dyn(PATH="$HOME/.cargo/bin:$PATH")
        cargo build
        test -d build
        mkdir -p build
        read -r line
        echo dyn("$line")
        nl -ba src/lib.rs
        sed -n 10,40p
        jq '.items[] | .name' data.json
        echo set
        echo s
        echo other
        printf '%s\n' a b
        wrapper: trap 'rm -f "$tmp"' EXIT
        rm -f dyn("$tmp")
        mktemp
        echo
        docker run --rm -v dyn("$PWD":/w) -w /w rust:latest cargo test
        make -j4
        tee build.log
        python -c 'import sys; print(sys.version)'
        node -e 'console.log(1)'
        cargo build --release
        set -euo pipefail
        cargo fmt --check
        echo 'it'\''s' ab 'tab	here'
        ls
        read f
        echo fields($f)
        cd sub
        make
        echo a
        echo b
        cat
        cargo test -- --nocapture
        grep -E 'test result|FAILED'
        git log --oneline -n 5 '--format=%h %s'
        seq 1 3
        echo dyn("$i")
        wrapper: command -v rg
        rg
        echo missing
        cat
        echo dyn("${result}")
        echo fields("${arr[@]}")
        mkdir -p fields(a/{b,c}/d)
        date
        echo dyn("inner $(date)")
        echo dyn("nested $(echo "inner $(date)")")
        '[' dyn("$a") = b ']'
        echo yes
        echo no
        wrapper: xargs -0 '-I{}' sh -c 'echo {}'
        wrapper: sh -c fields('echo {}') fields(<stdin>)
        fields('echo {}')
        cat
        git commit -m dyn("$(cat <<'EOF'
        Message with 'quotes' and $vars
        EOF
        )")
    "#]],
    );
}

#[test]
fn depth_is_bounded() {
    let nested = |levels: usize| format!("{}git push{}", "$(".repeat(levels), ")".repeat(levels));
    check(
        &nested(MAX_DEPTH),
        expect![[r#"
        git push
        fields($(git push))
        fields($($(git push)))
        fields($($($(git push))))
        fields($($($($(git push)))))
        fields($($($($($(git push))))))
        fields($($($($($($(git push)))))))
        fields($($($($($($($(git push))))))))
        fields($($($($($($($($(git push)))))))))
    "#]],
    );
    check(
        &nested(MAX_DEPTH + 1),
        expect![[r#"
        unparsed: nested too deeply
    "#]],
    );
    let wrappers = format!("{}git push", "nohup ".repeat(MAX_DEPTH + 1));
    check(
        &wrappers,
        expect![[r#"
        unparsed: nested too deeply
        wrapper: nohup nohup nohup nohup nohup nohup nohup nohup nohup git push
        wrapper: nohup nohup nohup nohup nohup nohup nohup nohup git push
        wrapper: nohup nohup nohup nohup nohup nohup nohup git push
        wrapper: nohup nohup nohup nohup nohup nohup git push
        wrapper: nohup nohup nohup nohup nohup git push
        wrapper: nohup nohup nohup nohup git push
        wrapper: nohup nohup nohup git push
        wrapper: nohup nohup git push
        wrapper: nohup git push
    "#]],
    );
    for deep in [
        "(".repeat(100_000),
        "$(".repeat(100_000),
        "${".repeat(100_000),
        "a=(".repeat(100_000),
        "$((".repeat(100_000),
        "function f ".repeat(100_000),
        "{ ".repeat(100_000),
        "if ".repeat(100_000),
        "\"$(".repeat(100_000),
        "((".repeat(100_000),
        "$( ((".repeat(100_000),
    ] {
        assert!(
            matches!(parse_script(&deep), Parsed::Unparsed { .. }),
            "{:.20}",
            deep
        );
    }
}

#[test]
fn argv_forms() {
    check_argv(
        &["bash", "-lc", "git push; ls"],
        expect![[r#"
        git push
        ls
    "#]],
    );
    check_argv(
        &["/bin/sh", "-c", "a"],
        expect![[r#"
        a
    "#]],
    );
    check_argv(
        &["git", "push"],
        expect![[r#"
        git push
    "#]],
    );
    check_argv(
        &["sudo", "git", "push"],
        expect![[r#"
        wrapper: sudo git push
        git push
    "#]],
    );
    check_argv(
        &["bash", "script.sh"],
        expect![[r#"
        bash script.sh
    "#]],
    );
    check_argv(
        &["env", "bash", "-c", "git push"],
        expect![[r#"
        wrapper: env bash -c 'git push'
        wrapper: bash -c 'git push'
        git push
    "#]],
    );
    check_argv(
        &["echo", "$(git push)"],
        expect![[r#"
        echo '$(git push)'
    "#]],
    );
    check_argv(
        &[],
        expect![[r#"
        (none)
    "#]],
    );
}

proptest! {
    #[test]
    fn parse_script_never_panics(script in any::<String>()) {
        let _ = parse_script(&script);
    }

    #[test]
    fn parse_script_never_panics_on_metacharacters(
        script in "[ \\t\\n;&|()<>'\"\\\\$`{}#!*?\\[\\]~=a-c0-9-]{0,80}"
    ) {
        let _ = parse_script(&script);
    }

    #[test]
    fn parse_script_never_panics_on_keywords(
        words in proptest::collection::vec(
            prop_oneof![
                Just("if"), Just("then"), Just("fi"), Just("case"), Just("in"), Just("esac"),
                Just("for"), Just("do"), Just("done"), Just("{"), Just("}"), Just("("),
                Just(")"), Just(";"), Just(";;"), Just("\n"), Just("<<EOF"), Just("EOF"),
                Just("$("), Just("`"), Just("a"), Just("function"), Just("[["), Just("]]"),
                Just("(("), Just("))"), Just("|"), Just("&&"), Just("eval"), Just("sh -c"),
            ],
            0..30,
        )
    ) {
        let _ = parse_script(&words.join(" "));
    }
}
