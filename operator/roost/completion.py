"""Shell completion for ``roost`` and ``kubectl roost``, read from the argparse parser.

The bash and zsh scripts ``roost completion bash|zsh`` prints call ``roost
__complete WORDS...`` for the candidates of the last (partial) word, so they never
fall out of step with the commands; kubectl (1.26+) calls ``kubectl_complete-roost
WORDS...`` for its plugin and reads the same candidates followed by a Cobra
directive line (``:4``: no file completion; ``:0``: let the shell complete files).
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

BASH = """\
# bash completion for roost (and kubectl roost); load with:
#   source <(roost completion bash)
_roost_complete() {
    local IFS=$'\\n'
    COMPREPLY=($(roost __complete "${COMP_WORDS[@]:1:COMP_CWORD}" 2>/dev/null))
}
complete -o default -F _roost_complete roost
"""

ZSH = """\
#compdef roost
# zsh completion for roost (and kubectl roost); load with:
#   source <(roost completion zsh)
_roost() {
    local -a candidates
    candidates=("${(@f)$(roost __complete "${(@)words[2,CURRENT]}" 2>/dev/null)}")
    if (( ${#candidates} )) && [[ -n "${candidates[1]}" ]]; then
        compadd -Q -- "${candidates[@]}"
    else
        _files
    fi
}
if [[ "$funcstack[1]" = "_roost" ]]; then
    _roost "$@"
else
    compdef _roost roost
fi
"""

SCRIPTS = {"bash": BASH, "zsh": ZSH}


def _subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:  # argparse keeps no public list of subparsers
        if isinstance(action, argparse._SubParsersAction):
            return {n: p for n, p in action.choices.items() if not n.startswith("_")}
    return {}


def _options(parser: argparse.ArgumentParser) -> dict[str, argparse.Action]:
    return {flag: a for a in parser._actions for flag in a.option_strings}


def candidates(parser: argparse.ArgumentParser, words: Sequence[str]) -> list[str]:
    """What may follow ``words[:-1]`` and begins with ``words[-1]`` (the partial word)."""
    *done, partial = list(words) or [""]
    current = parser
    expecting: argparse.Action | None = None
    for word in done:
        if expecting is not None:
            expecting = None
            continue
        options = _options(current)
        action = options.get(word.split("=", 1)[0])
        if action is not None:
            if action.nargs != 0 and "=" not in word:
                expecting = action
            continue
        sub = _subcommands(current)
        if word in sub:
            current = sub[word]
    if expecting is not None:
        choices = [str(c) for c in expecting.choices or ()]
        return [c for c in choices if c.startswith(partial)]
    if partial.startswith("-"):
        return sorted(f for f in _options(current) if f.startswith(partial) and f != "-h")
    return sorted(name for name in _subcommands(current) if name.startswith(partial))
