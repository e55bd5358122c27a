# The stage runner of tests/run-all.sh (sourced; tests/runner/selftest.sh
# tests it):
#
#   stages_init LOG_DIR
#   stage "Name shown in the summary" COMMAND [ARGS...]
#   ...
#   stages_summary        # prints the table and the closing line, returns 1
#                         # if anything failed
#
# Every stage runs, whatever the earlier ones did: COMMAND runs under
# `set -e` in a subshell (so stage itself must not be called from an if,
# ||, && or !, where bash ignores set -e; it refuses), its output goes to the terminal and to
# LOG_DIR/NN-name.log, and its counts come from the summaries the test
# runners print themselves:
#
#   cargo test    test result: ok. 12 passed; 0 failed; 1 ignored; ...
#   ours          NAME: 12 passed, 0 failed    (tests/c/check.h, scripts)
#   node --test   ℹ pass 12 / ℹ fail 0 / ℹ skipped 0 / ℹ todo 0 / ℹ cancelled 0
#   ctest         92% tests passed, 1 tests failed out of 12
#   GoogleTest    [  PASSED  ] 12 tests. / [  FAILED  ] 1 test, listed below:
#                 / [  SKIPPED ] 1 test, listed below:  (unless ctest's
#                 summary is in the same log: ctest runs the gtest cases)
#   pytest        ===== 12 passed, 1 failed, 2 skipped in 3.21s =====
#                 (or without the rules, as -q prints it)
#
# Nothing may be skipped (COMMON.md): ignored, skipped and todo tests count
# as failed. A stage that exits non-zero without a counted failure counts
# one failure; a stage that prints no counts (a lint, a build) counts as one
# check, passed or failed by its exit status, and the summary says so.

stages_init() { # log-dir
  _stage_logs=$1
  _stage_n=0
  _stage_rows=()
  _stage_total_passed=0
  _stage_total_failed=0
  _stage_failed_names=()
  _stage_started=$SECONDS
  mkdir -p "$_stage_logs"
}

# The counts in a stage's log: prints "passed failed skipped found" where
# found is 1 if any runner summary was recognised.
stage_counts() { # log
  awk '
    function add(p, f, s) { passed += p; failed += f; skipped += s; found = 1 }
    /^test result: (ok|FAILED)\. [0-9]+ passed; [0-9]+ failed; [0-9]+ ignored;/ {
      n = split($0, w, /[ ;.]+/)
      for (i = 1; i < n; i++) {
        if (w[i + 1] == "passed") p = w[i]; else if (w[i + 1] == "failed") f = w[i]
        else if (w[i + 1] == "ignored") s = w[i]
      }
      add(p, f, s); next
    }
    /^[A-Za-z0-9_.+\/ -]+: [0-9]+ passed, [0-9]+ failed$/ {
      match($0, /[0-9]+ passed, [0-9]+ failed$/)
      split(substr($0, RSTART), w, /[ ,]+/)
      add(w[1], w[3], 0); next
    }
    /^ℹ (pass|fail|skipped|todo|cancelled) [0-9]+$/ {
      if ($2 == "pass") add($3, 0, 0)
      else if ($2 == "fail" || $2 == "cancelled") add(0, $3, 0)
      else add(0, 0, $3)
      next
    }
    /^[0-9]+% tests passed, [0-9]+ tests? failed out of [0-9]+$/ {
      ctest = 1; add($NF - $4, $4, 0); next
    }
    /^\[  PASSED  \] [0-9]+ tests?\.$/ { gp += $4; gfound = 1; next }
    /^\[  FAILED  \] [0-9]+ tests?, listed below:$/ { gf += $4; gfound = 1; next }
    /^\[  SKIPPED \] [0-9]+ tests?, listed below:$/ { gs += $4; gfound = 1; next }
    /^(=+ )?[0-9]+ [a-z]+(, [0-9]+ [a-z]+)* in [0-9.]+s( \([0-9:]+\))?( =+)?$/ {
      n = split($0, w, /[ ,=]+/)
      for (i = 1; i < n; i++) {
        if (w[i] !~ /^[0-9]+$/) continue
        if (w[i + 1] == "passed" || w[i + 1] == "xfailed") add(w[i], 0, 0)
        else if (w[i + 1] ~ /^(failed|errors?|xpassed)$/) add(0, w[i], 0)
        else if (w[i + 1] == "skipped") add(0, 0, w[i])
      }
      next
    }
    END {
      if (gfound && !ctest) add(gp, gf, gs)
      printf "%d %d %d %d\n", passed, failed, skipped, found
    }' "$1"
}

stage() { # name command [args...]
  local name=$1 slug log t0 rc secs passed failed skipped found note=""
  shift
  _stage_n=$((_stage_n + 1))
  slug=$(printf '%s' "$name" | tr 'A-Z' 'a-z' | tr -cs 'a-z0-9' '-' | sed 's/^-//; s/-$//' | cut -c1-40)
  log=$_stage_logs/$(printf '%02d' "$_stage_n")-$slug.log
  echo
  echo "=== $name ($((SECONDS - _stage_started)) s)"
  t0=$SECONDS
  local errexit=+e probe
  [[ $- != *e* ]] || errexit=-e
  set +e
  # bash ignores set -e inside anything run from an if, while, && or ||
  # (and so in every stage, without a word): refuse to be called there.
  probe=$(set -e; false; echo ignored)
  if [ -n "$probe" ]; then
    echo "stage \"$name\": called where bash ignores set -e (in an if, ||, && or !)" >&2
    exit 2
  fi
  (set -e; "$@") 2>&1 | tee "$log"
  rc=${PIPESTATUS[0]}
  set "$errexit"
  secs=$((SECONDS - t0))
  read -r passed failed skipped found < <(stage_counts "$log")
  if [ "$found" = 0 ]; then
    note="no test counts; exit status $rc"
    if [ "$rc" = 0 ]; then passed=1; else failed=1; fi
  elif [ "$rc" != 0 ] && [ "$failed" = 0 ] && [ "$skipped" = 0 ]; then
    note="exit status $rc without a counted failure"
    failed=1
  fi
  if [ "$skipped" != 0 ]; then
    note="${note:+$note; }$skipped skipped, counted as failed"
    failed=$((failed + skipped))
  fi
  [ "$rc" = 0 ] || [ -n "$note" ] || note="exit status $rc"
  _stage_total_passed=$((_stage_total_passed + passed))
  _stage_total_failed=$((_stage_total_failed + failed))
  [ "$failed" = 0 ] || _stage_failed_names+=("$name")
  _stage_rows+=("$(printf '%-58s %7s %7s %6s  %s%s' "$name" "$passed" "$failed" "${secs}s" \
    "$log" "${note:+  ($note)}")")
}

stages_summary() {
  local row
  echo
  echo "=== summary ($((SECONDS - _stage_started)) s)"
  printf '%-58s %7s %7s %6s  %s\n' stage passed failed time log
  for row in "${_stage_rows[@]}"; do
    echo "$row"
  done
  if [ ${#_stage_failed_names[@]} -gt 0 ]; then
    echo
    echo "failed stages: $(printf '%s; ' "${_stage_failed_names[@]}" | sed 's/; $//')"
  fi
  echo "psftp: $_stage_total_passed passed, $_stage_total_failed failed"
  [ "$_stage_total_failed" = 0 ]
}
