#!/bin/sh
# A stand-in for bmake in fake pkgsrc trees: it answers the two targets
# pbulk-scan uses from files in the current directory.
#   SUBDIRS   the SUBDIR words (show-subdir-var); missing = failure
#   index     the pbulk-index output; "@V@" is replaced by the content of
#             the file named in "vfile" (a stand-in for an included .mk)
#   delay     seconds to sleep first; fail = exit 2 after printing;
#   hang      sleep "forever" (the sleep's pid goes to $FAKE_MAKE_PIDS)
if [ -n "$FAKE_MAKE_LOG" ]; then
	echo "$$ $1 $PWD" >> "$FAKE_MAKE_LOG"
fi
case "$1" in
show-subdir-var)
	[ -f SUBDIRS ] || exit 1
	[ -f delay ] && sleep "$(cat delay)"
	exec cat SUBDIRS
	;;
pbulk-index)
	[ -f delay ] && sleep "$(cat delay)"
	if [ -f hang ]; then
		sleep 1000 &
		echo "$!" >> "${FAKE_MAKE_PIDS:-/dev/null}"
		wait "$!"
	fi
	if [ -f vfile ]; then
		sed "s/@V@/$(cat "$(cat vfile)")/" index
	else
		cat index
	fi
	[ -f fail ] && exit 2
	exit 0
	;;
esac
exit 1
