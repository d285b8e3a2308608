# Question: (seed 001) "XSAVES with UINTR is destructive -- it clears UINV
#   ... So all this seems to put UINV into the 'independent' category of
#   feature along with LBR." Does an independent UINTR -- its own buffer,
#   saved at every switch-out and restored before every return to user
#   mode, no owner/last_cpu shortcut -- deliver every user interrupt, across
#   kernel threads, switches, migrations, fork and exec?
# Answer: (policy uintr=independent) yes. The switch-out XSAVES (which
#   clears UINV, so a kernel thread or another task never sees the
#   receiver's UINV) sets the UPID's SN bit; SENDUIPI then only posts; the
#   return to user mode XRSTORS the state -- never twice without a save in
#   between, so it never #GPs -- updates NDST, clears SN and re-sends what
#   was posted; a request the CPU already recognized (UIRR) is saved and
#   restored with the state. Every interrupt below is delivered, no kernel
#   warning. The same file with --policy mutant=uintr-shortcut (skip the
#   restore when owner/last_cpu match, as for the FPU) fails at line 40:
#   UINV is 0 after
#   the kernel-thread round trip and the interrupt is lost -- exactly the
#   failure seed 001 predicted for treating UINTR as ordinary state.
machine cpu=intel-sapphire-rapids cpus=2 uintr=independent
thread r on cpu0
thread s on cpu1
kthread kt

expect class uintr == supervisor-affects-user
expect config independent & uintr == uintr
expect config default & uintr == 0
r uintr register
expect hw cpu0 uinv == 0xec

# Delivered at once while the receiver runs in user mode.
s senduipi r 1
expect uintr r delivered == 1

# Seed 001: "we switch to a kernel thread, we do XSAVES and UINV is cleared.
# Then we switch back to the same task..." -- here the return restores it.
switch cpu0 to kt
expect hw cpu0 uinv == 0           # the kernel thread runs with UINV = 0
switch cpu0 to r
r run
expect hw cpu0 uinv == 0xec        # restored by the return to user mode
s senduipi r 2
expect uintr r delivered == 2
expect uintr r spurious == 0

# Posted while switched out (SN set: no notification), delivered when r
# runs again -- after a migration to the other CPU.
switch cpu0 to idle
s senduipi r 3
expect uintr r pir == 0x8
migrate s to cpu0
switch cpu1 to r
r run
expect uintr r delivered == 3
expect uintr r pir == 0

# fork: the child is no receiver and the parent keeps receiving.
fork r as c                        # r is in the kernel now (the fork call)
s senduipi r 4                     # noticed there: PIR -> UIRR ...
r run                              # ... delivered on the way back to user mode
expect uintr r delivered == 4
switch cpu0 to c
expect hw cpu0 uinv == 0

# exec drops the receiver cleanly (no XRSTORS fault).
exec r
r run
expect hw cpu1 uinv == 0
expect warnings == 0

# A request already recognized (PIR -> UIRR) while r is in the kernel is
# part of r's UINTR state: the switch-out XSAVES saves UIRR with it, a
# kernel thread and a migration later the return to user mode restores and
# delivers it.
r uintr register
switch cpu0 to s
enter cpu1                         # r in a system call
s senduipi r 5
expect uintr r delivered == 0      # recognized, not yet delivered (kernel mode)
expect uintr r pir == 0
kfpu cpu1                          # kernel FPU use does not touch UINTR
switch cpu1 to kt
switch cpu1 to idle
migrate r to cpu0                  # s is switched out of cpu0
r run
expect uintr r delivered == 1
expect uintr r spurious == 0
expect warnings == 0
