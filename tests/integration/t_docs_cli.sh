#!/usr/bin/env bash
# t_docs_cli: docs/cli.md documents every option of every command, so that
# the reference and `moat help` cannot drift apart again.
#
# The commands are those `moat help` lists (and the subcommands that
# `moat help ca|trust|acme` list); for each, every long option (`--x`) that
# `moat help CMD` prints must appear in the section of docs/cli.md that
# documents CMD: a "## moat ..." heading that names it ("## moat ca show,
# moat ca list" names both; "## moat trust install, uninstall, status" names
# three).  A command without a section, or an option missing from it, is
# reported by name.  The checker is then run on doctored copies of cli.md
# (one option removed, one heading renamed) and must notice each.
. "$(dirname "$0")/lib.sh"

PY=/usr/bin/python3
[ -x "$PY" ] || skip_test "/usr/bin/python3 is not installed"
CLI_MD=$REPO_ROOT/docs/cli.md
if [ ! -f "$CLI_MD" ]; then
	fail "docs/cli.md exists"
	finish
fi

# ------------------------------------------------ the commands and their help
HELP=$T/help
mkdir -p "$HELP"
moat help
assert_rc 0 "moat help"
OVERVIEW=$OUT

# have_help WORDS...: `moat help WORDS` succeeds; its text goes to
# $HELP/<words joined by _>.txt.
have_help() {
	local f
	f=$HELP/$(printf '%s' "$*" | tr ' ' '_').txt
	"$MOAT" help "$@" </dev/null >"$f" 2>/dev/null && [ -s "$f" ] && return 0
	rm -f "$f"
	return 1
}

# Each command line of the overview: two spaces, then the command in lower
# case ("ca init", "issue NAME...", "serve NAME=URL").  "help" itself is
# documented at the top of cli.md, not in a section.
CMDS=()
add_cmd() {
	local c
	for c in "${CMDS[@]}"; do
		[ "$c" = "$1" ] && return 0
	done
	CMDS+=("$1")
}
while read -r w1 w2 _; do
	[ "$w1" = help ] && continue
	# shellcheck disable=SC2086 # two words on purpose
	if [[ $w2 =~ ^[a-z]+$ ]] && have_help $w1 $w2; then
		add_cmd "$w1 $w2"
	elif have_help "$w1"; then
		add_cmd "$w1"
	else
		fail "moat help $w1: the overview lists \"$w1\" but there is no help for it"
	fi
done < <(sed -n '/^Usage:/,/^Environment:/p' <<<"$OVERVIEW" | grep -E '^  [a-z]+( |$)')
# Subcommands the group helps list (moat help ca, trust, acme).
for group in "${CMDS[@]}"; do
	[[ $group == *' '* ]] && continue
	while read -r w1 w2 _; do
		if [ "$w1" = "$group" ] && [[ $w2 =~ ^[a-z]+$ ]] && have_help "$w1" "$w2"; then
			add_cmd "$w1 $w2"
		fi
	done < <(grep -E "^  $group [a-z]+ " "$HELP/$group.txt")
done
note "commands: ${CMDS[*]}"
# At least the ones issue 14 found undocumented must be among them.
for c in "acme renew" "acme revoke" "acme list" "acme account" "acme issue" "trust install" \
	"trust share" "ca init" serve check; do
	assert_contains "$(printf '%s\n' "${CMDS[@]}")" "$c" "the command list has \"$c\""
done

# ------------------------------------------------------------- the checker
cat >"$T/check.py" <<'EOF'
"""check.py CLI_MD HELPDIR CMD...: every --option in HELPDIR/<cmd>.txt is in
CLI_MD's section for CMD.  Prints one line per problem; exit 1 if any."""
import re, sys

cli_md, helpdir, cmds = sys.argv[1], sys.argv[2], sys.argv[3:]

# Sections: "## moat a b, moat c d" or "## moat trust install, uninstall".
sections = {}
text = open(cli_md, encoding="utf-8").read()
parts = re.split(r"(?m)^## ", text)
for part in parts[1:]:
    heading, _, body = part.partition("\n")
    names = []
    prefix = None
    for piece in heading.split(","):
        piece = piece.strip().strip("`")
        if piece.startswith("moat "):
            words = piece[5:].split()
            prefix = words[0]
            names.append(" ".join(words))
        elif prefix is not None and re.fullmatch(r"[a-z]+", piece):
            names.append(prefix + " " + piece)
    for n in names:
        sections[n] = sections.get(n, "") + "\n" + body

# An option is "--word" not preceded by a letter, digit or dash; options of
# other programs quoted in the help ("curl --cacert") are not moat's.
opt_re = re.compile(r"(?<![\w-])--[a-z0-9][a-z0-9-]*")
foreign = re.compile(r"\b(curl|openssl|certbot|certutil|keytool)\s+(-{1,2}[a-z0-9-]+\s+)*$")
# ... nor are another moat command's ("the root of an earlier `moat ca init
# --force`" in trust install's help).
moat_cmd = re.compile(r"\bmoat\s+([a-z]+(?:\s+[a-z]+)?)\s+(-{1,2}[a-z0-9-]+\s+)*$")

problems = 0
for cmd in cmds:
    helptext = open("%s/%s.txt" % (helpdir, cmd.replace(" ", "_")), encoding="utf-8").read()
    opts = []
    for m in opt_re.finditer(helptext):
        before = helptext[max(0, m.start() - 60):m.start()]
        if foreign.search(before):
            continue
        other = moat_cmd.search(before)
        if other and not cmd.startswith(other.group(1)) and not other.group(1).startswith(cmd):
            continue
        if m.group(0) not in opts:
            opts.append(m.group(0))
    body = sections.get(cmd)
    if body is None:
        print("%s: no section in cli.md (a heading \"## moat %s\")" % (cmd, cmd))
        problems += 1
        continue
    missing = [o for o in opts
               if not re.search(r"(?<![\w-])" + re.escape(o) + r"(?![\w-])", body)]
    for o in missing:
        print("%s: %s is not in its section of cli.md" % (cmd, o))
    problems += len(missing)
    if not missing:
        print("# %s: %d options, all in its section" % (cmd, len(opts)))
sys.exit(1 if problems else 0)
EOF

run "$PY" "$T/check.py" "$CLI_MD" "$HELP" "${CMDS[@]}"
if [ "$RC" -eq 0 ]; then
	pass "docs/cli.md documents every option of ${#CMDS[@]} commands, each in its own section"
else
	fail "docs/cli.md documents every option moat help prints, in the command's section"
	sed -e 's/^/#   /' "$OUT_F"
fi
# Per command, so that the log says which one drifted.
for c in "${CMDS[@]}"; do
	run "$PY" "$T/check.py" "$CLI_MD" "$HELP" "$c"
	if [ "$RC" -eq 0 ]; then
		pass "cli.md: moat $c"
	else
		fail "cli.md: moat $c"
		sed -e 's/^/#   /' "$OUT_F"
	fi
done

# ---------------------------------------------- the checker can fail at all
# A copy of cli.md without --dns-wait in the acme issue section, and one
# whose fetch heading is renamed: each must be reported.
"$PY" - "$CLI_MD" "$T/no-dns-wait.md" "$T/no-fetch.md" <<'EOF'
import re, sys
src, out1, out2 = sys.argv[1:]
text = open(src, encoding="utf-8").read()
parts = re.split(r"(?m)(?=^## )", text)
one = []
for p in parts:
    if p.startswith("## moat acme issue"):
        p = p.replace("--dns-wait", "--dns-w4it")
    one.append(p)
open(out1, "w", encoding="utf-8").write("".join(one))
open(out2, "w", encoding="utf-8").write(re.sub(r"(?m)^## moat fetch$", "## moat fetcher", text))
EOF
if grep -qF -- '--dns-wait' "$HELP/acme_issue.txt"; then
	run "$PY" "$T/check.py" "$T/no-dns-wait.md" "$HELP" "acme issue"
	assert_rc 1 "the checker fails on a cli.md without --dns-wait in moat acme issue"
	assert_contains "$OUT" "acme issue: --dns-wait is not in its section" "  ... and names it"
fi
if [ -f "$HELP/fetch.txt" ]; then
	run "$PY" "$T/check.py" "$T/no-fetch.md" "$HELP" fetch
	assert_rc 1 "the checker fails on a cli.md without a section for moat fetch"
	assert_contains "$OUT" "fetch: no section" "  ... and names it"
fi
# An option quoted from another program is not moat's (trust export's help
# mentions "curl --cacert"), nor one of another moat command, but moat's
# own options right after a command are found.
printf 'Usage: moat x [--alpha] [--beta-2 N]\n  see curl --cacert, openssl -x --y,\n  moat ca init --force; moat x --gamma\n' >"$HELP/x.txt"
printf '# t\n\n## moat x\n\nThe option --alpha.\n' >"$T/x.md"
run "$PY" "$T/check.py" "$T/x.md" "$HELP" x
assert_rc 1 "the checker fails when one of two options is missing"
assert_contains "$OUT" "x: --beta-2 is not in" "  ... names --beta-2"
assert_contains "$OUT" "x: --gamma is not in" "  ... and --gamma (after \"moat x\")"
assert_not_contains "$OUT" "--cacert" "  ... not curl's --cacert"
assert_not_contains "$OUT" "--y" "  ... nor openssl's --y"
assert_not_contains "$OUT" "--force" "  ... nor moat ca init's --force"
assert_not_contains "$OUT" "--alpha" "  ... nor --alpha, which is there"

finish
