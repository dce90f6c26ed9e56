# bash completion for xo and its programs                       -*- shell-script -*-
#
# Installed as share/bash-completion/completions/xo, with a symlink named after
# every program so bash-completion loads it on demand for any of them.
#
# Everything is read from the programs themselves, so a new program needs only
# its name in _xo_programs below (tests/docs.bats fails if one is missing):
#   - "xo --list-commands" gives the command names after "xo";
#   - "PROG --help" gives the options (and their argument placeholders) and
#     the usage line, whose operands say what to complete: VM completes VM
#     names and uuids from $XO_STATE_DIR (name/* and VM/*), NAME and POSITION
#     the devices of that VM (VM/<uuid>/vbd.*, vif.*, pci.*), TASK the task
#     ids (xo-task-list), HOOK the hook names, a|b|c one of the words, FILE
#     and PATH file names.

# the programs: one name per line, keep sorted as in cmd/commands.txt
_xo_programs=(
	xo
	xo-vm-add
	xo-vm-remove
	xo-vm-list
	xo-vm-show
	xo-vbd-add
	xo-vbd-remove
	xo-vbd-list
	xo-vif-add
	xo-vif-remove
	xo-vif-list
	xo-pci-add
	xo-pci-remove
	xo-pci-list
	xo-simd
	xo-vm-start
	xo-vm-stat
	xo-vm-console
	xo-hook-run
	xo-domain-create
	xo-domain-build
	xo-vbd-set-active
	xo-vbd-epoch-begin
	xo-vbd-plug
	xo-vif-set-active
	xo-vif-plug
	xo-qemu-start
	xo-pci-plug
	xo-vm-set-action-request
	xo-vbd-stat
	xo-vif-stat
	xo-pci-stat
	xo-task-list
	xo-task-stat
	xo-task-wait
	xo-task-cancel
	xo-task-destroy
	xo-updates-get
	xo-queue-diag
	xo-vm-shutdown
	xo-vm-reboot
	xo-vm-destroy
	xo-vm-pause
	xo-vm-unpause
	xo-vm-set-memory
	xo-vm-set-vcpus
	xo-vm-set-affinity
	xo-domain-destroy
	xo-domain-pause
	xo-domain-unpause
	xo-domain-shutdown
	xo-vbd-unplug
	xo-vif-unplug
	xo-pci-unplug
	xo-qemu-stop
	xo-vbd-epoch-end
	xo-vm-check-state
	xo-watchd
	xo-vbd-eject
	xo-vbd-insert
	xo-vif-set-carrier
	xo-vif-set-locking
)

declare -gA _xo_help_cache

_xo_state_dir() {
	printf '%s\n' "${XO_STATE_DIR:-/run/nonpersistent/xo}"
}

# VM names and uuids
_xo_vms() {
	local dir f
	dir=$(_xo_state_dir)
	for f in "$dir"/name/* "$dir"/VM/*; do
		[[ -e $f || -L $f ]] || continue
		f=${f##*/}
		[[ $f == .* ]] && continue
		printf '%s\n' "$f"
	done
}

# the uuid of a VM given by name or uuid
_xo_vm_uuid() {
	local dir target
	dir=$(_xo_state_dir)
	[[ -n $1 && $1 != */* && $1 != .* ]] || return 1
	if [[ -d $dir/VM/$1 ]]; then
		printf '%s\n' "$1"
	elif target=$(readlink "$dir/name/$1" 2>/dev/null); then
		printf '%s\n' "${target##*/}"
	else
		return 1
	fi
}

# the devices of one kind (vbd, vif, pci) of a VM: "xvda", "0"
_xo_devices() {
	local dir uuid f
	dir=$(_xo_state_dir)
	uuid=$(_xo_vm_uuid "$1") || return 0
	for f in "$dir/VM/$uuid/$2".*; do
		[[ -e $f ]] || continue
		printf '%s\n' "${f##*/"$2".}"
	done
}

# task ids, from xo-task-list
_xo_tasks() {
	xo-task-list 2>/dev/null | while read -r id _; do
		printf '%s\n' "$id"
	done
}

# the hooks xo-hook-run accepts (lib/hooks.c)
_xo_hooks=(vm-pre-start vm-pre-shutdown vm-post-destroy vm-pre-reboot vm-pre-migrate
	vm-post-migrate vm-pre-suspend vm-pre-resume vm-post-resume)

# the --help text of a program, cached
_xo_help() {
	if [[ -z ${_xo_help_cache[$1]+set} ]]; then
		_xo_help_cache[$1]=$("$1" --help 2>/dev/null)
	fi
	printf '%s\n' "${_xo_help_cache[$1]}"
}

# options of a program: "-f" and "--file" lines
_xo_options() {
	_xo_help "$1" | sed -n -E 's/^ +(-[A-Za-z0-9], )?(--[A-Za-z0-9-]+).*/\1\n\2/p' |
		sed -e 's/, $//' -e '/^$/d'
}

# the argument placeholder of an option ("FILE"), empty for a flag; fails if unknown
_xo_option_arg() {
	local line
	line=$(_xo_help "$1" | grep -E -m1 -e "^ +(-[A-Za-z0-9], )?$2( |\$)" -e "^ +$2, ") || return 1
	line=${line#"${line%%[! ]*}"}
	line=${line#-?, }
	line=${line%%  *}
	[[ $line == *" "* ]] && printf '%s\n' "${line#* }"
	return 0
}

# the operand placeholders of the usage line: "VM", "NAME"
_xo_operands() {
	local usage w op optarg prev=''
	usage=$(_xo_help "$1" | sed -n 's/^usage: [^ ]* //p' | head -n1)
	for w in $usage; do
		op=${w#[}
		op=${op#(}
		op=${op%%[])]*}
		# not an option, nor the argument of one ("[--timeout SECONDS]"; "[-n] VM" is)
		optarg=0
		if [[ ($prev == -* || $prev == "["-*) && $prev != *"]" ]]; then
			optarg=1
		fi
		if [[ $w != "["-* && ($op == [A-Z]* || $op == [a-z]*\|*) ]] && [ "$optarg" = 0 ]; then
			printf '%s\n' "$op"
		fi
		prev=$w
	done
}

# complete for PROG, its words being words[1..], the current word being index cword
_xo_complete_prog() {
	local prog=$1 cword=$2
	shift 2
	local -a words=("$@")
	local cur=${words[cword]} prev='' i n=0 arg kind vm='' want
	((cword > 1)) && prev=${words[cword - 1]}

	if [[ $prev == -* && $prev != *=* ]] && arg=$(_xo_option_arg "$prog" "$prev") && [[ -n $arg ]]; then
		case $arg in
		*FILE* | *PATH*) mapfile -t COMPREPLY < <(compgen -f -- "$cur") ;;
		*\|*) mapfile -t COMPREPLY < <(compgen -W "${arg//|/ }" -- "$cur") ;;
		*) COMPREPLY=() ;;
		esac
		return 0
	fi
	if [[ $cur == -* ]]; then
		mapfile -t COMPREPLY < <(compgen -W "$(_xo_options "$prog")" -- "$cur")
		return 0
	fi
	# which operand is this? skip options and their arguments
	for ((i = 1; i < cword; i++)); do
		if [[ ${words[i]} == -* ]]; then
			if [[ ${words[i]} != *=* ]] && arg=$(_xo_option_arg "$prog" "${words[i]}") &&
				[[ -n $arg ]]; then
				((i++))
			fi
			continue
		fi
		((n++))
		((n == 1)) && vm=${words[i]}
	done
	local -a ops
	mapfile -t ops < <(_xo_operands "$prog")
	want=${ops[n]}
	# the last operand may repeat: "TASK..."
	if [[ -z $want && ${#ops[@]} -gt 0 && ${ops[-1]} == *... ]]; then
		want=${ops[-1]}
	fi
	want=${want%...}
	case $prog in
	xo-vbd-*) kind=vbd ;; xo-vif-*) kind=vif ;; xo-pci-*) kind=pci ;; *) kind= ;;
	esac
	case $want in
	VM) mapfile -t COMPREPLY < <(compgen -W "$(_xo_vms)" -- "$cur") ;;
	NAME | POSITION | DEVICE)
		[[ -n $kind ]] && mapfile -t COMPREPLY < <(compgen -W "$(_xo_devices "$vm" "$kind")" -- "$cur")
		;;
	TASK) mapfile -t COMPREPLY < <(compgen -W "$(_xo_tasks)" -- "$cur") ;;
	HOOK) mapfile -t COMPREPLY < <(compgen -W "${_xo_hooks[*]}" -- "$cur") ;;
	*\|*) mapfile -t COMPREPLY < <(compgen -W "${want//|/ }" -- "$cur") ;;
	*FILE* | *PATH*) mapfile -t COMPREPLY < <(compgen -f -- "$cur") ;;
	*) COMPREPLY=() ;;
	esac
	return 0
}

_xo() {
	local prog=${COMP_WORDS[0]##*/} cword=${COMP_CWORD} i joined='' c
	local -a cmds next
	COMPREPLY=()
	if [[ $prog != xo ]]; then
		_xo_complete_prog "$prog" "$cword" "${COMP_WORDS[@]}"
		return 0
	fi
	# xo [help] WORD WORD...: the longest run of words naming a command
	i=1
	[[ ${COMP_WORDS[1]} == help && $cword -gt 1 ]] && i=2
	mapfile -t cmds < <(xo --list-commands 2>/dev/null)
	cmds=("${cmds[@]#xo-}")
	local start=$i found=''
	for ((; i < cword; i++)); do
		joined=${joined:+$joined-}${COMP_WORDS[i]}
		for c in "${cmds[@]}"; do
			if [[ $c == "$joined" ]]; then
				found=$i
				break
			fi
		done
		[[ -n $found ]] && break
	done
	if [[ -n $found ]]; then
		# the rest belongs to xo-<command>; "xo help CMD" takes no more
		((start == 2)) && return 0
		_xo_complete_prog "xo-$joined" $((cword - found)) "xo-$joined" \
			"${COMP_WORDS[@]:found+1}"
		return 0
	fi
	# offer the next word of every command that starts with the words so far
	for c in "${cmds[@]}"; do
		if [[ -z $joined ]]; then
			next+=("${c%%-*}")
		elif [[ $c == "$joined"-* ]]; then
			c=${c#"$joined"-}
			next+=("${c%%-*}")
		fi
	done
	((cword == 1)) && next+=(help)
	mapfile -t COMPREPLY < <(compgen -W "$(printf '%s\n' "${next[@]}" | sort -u)" -- \
		"${COMP_WORDS[cword]}")
	return 0
}

complete -F _xo "${_xo_programs[@]}"
