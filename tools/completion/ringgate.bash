# bash completion for ringgated, ringgatectl, ringgate-registry and ringgate-buddy.
# Options and ringgatectl's commands come from the program's own --help, so completion
# follows the installed version without a list kept here.

# The options a program's --help lists (lines that start, after spaces, with "-").
_ringgate_options() {
    "$1" --help 2>/dev/null | sed -n -E 's/^ +(-[A-Za-z],)?(--[a-z][-a-z]*).*/\2/p'
}

# ringgatectl's commands: the "Subcommands:" block of its --help.
_ringgate_commands() {
    "$1" --help 2>/dev/null | sed -n -E '/^Subcommands:/,/^$/ s/^  ([a-z][-a-z]*) .*/\1/p'
}

_ringgate() {
    local cur prev words cword
    _init_completion || return
    case $prev in
        -c|--config|--password-file|--ca-file|--key-file|--sqlite-path)
            _filedir
            return ;;
        -s|--socket|--management)
            _filedir sock
            return ;;
        --log|-n|--node|-H|--host|-u|--user|--self|--registry|--service|--listen|--port|--timeout-ms)
            return ;;
    esac
    if [[ $cur == -* ]]; then
        COMPREPLY=($(compgen -W "$(_ringgate_options "$1")" -- "$cur"))
        return
    fi
    if [[ ${1##*/} == ringgatectl ]]; then
        local i command=""
        for ((i = 1; i < cword; i++)); do
            case ${words[i]} in
                -c|--config|-n|--node|-s|--socket|-H|--host|-u|--user|--password-file|--ca-file|--timeout-ms|--log)
                    ((i++)) ;;  # the option's value
                -*) ;;
                *) command=${words[i]}; break ;;
            esac
        done
        case $command in
            "") COMPREPLY=($(compgen -W "$(_ringgate_commands "$1")" -- "$cur")) ;;
            vip) ((cword >= 2)) && [[ ${words[cword-1]} == vip ]] &&
                     COMPREPLY=($(compgen -W "move prefer unprefer persistence close open" -- "$cur")) ;;
            config) [[ ${words[cword-1]} == config ]] && COMPREPLY=($(compgen -W "push" -- "$cur")) ||
                        _filedir ;;
        esac
    fi
}
complete -F _ringgate ringgated ringgatectl ringgate-registry ringgate-buddy
