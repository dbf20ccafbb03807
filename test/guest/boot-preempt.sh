# boot-preempt.sh - the core suite (boot-main.sh) under full preemption.
#
# Booted with preempt=full (test/guest/boots) on kernels with
# PREEMPT_DYNAMIC: a task may then be preempted anywhere outside a
# preempt-disabled section, in bindguard's hooks' callers and in the
# refusal stub too. First the model is checked (the scheduler's debugfs
# file names the one in force in parentheses); if it is not "full", the
# boot reports that one failure and runs nothing else.
. /tests/lib.sh

PREEMPT=/sys/kernel/debug/sched/preempt
model=$(cat $PREEMPT 2>/dev/null)
case $model in
*"(full)"*)
	echo "# preemption model: $model"
	. /tests/boot-main.sh
	;;
*)
	ktap_plan 1
	TEST_NAME="the kernel runs with full preemption"
	TEST_OK=1
	fail "$PREEMPT reads '$model', want '(full)' (is preempt=full on the command line, PREEMPT_DYNAMIC in the kernel?)"
	echo "not ok 1 $TEST_NAME"
	;;
esac
