# Question: (seed 001) what breaks if UINTR is treated as ordinary xstate
#   -- one more supervisor component of the task buffer, saved and restored
#   with everything else, owner/last_cpu shortcut included?
# Answer: (policy uintr=ordinary; the run demonstrates each, and the
#   expectations assert the broken outcome)
#   1. Lost interrupts. "we switch to a kernel thread, we do XSAVES and UINV
#      is cleared. Then we switch back to the same task and don't do
#      XRSTORS ... and UINV is still clear." The next SENDUIPI's
#      notification is an ordinary interrupt to the kernel, the request
#      stays in the UPID, ON stays set, and later ones are not even
#      notified. The next save writes UINV = 0 into the buffer: the
#      receiver is dead for good, even after a real restore elsewhere.
#   2. A kernel #GP. "XRSTORS will #GP if you XRSTORS twice": exec resets
#      the buffer and sets TIF_NEED_FPU_LOAD without saving, so the XRSTORS
#      before user mode finds UINV != 0 -- a faulting kernel XRSTORS (WARN).
#   3. fork's XSAVES of the parent's live registers clears the parent's
#      UINV: the parent loses its interrupts though it never left the CPU.
#   uintr-independent.xs runs the same situations correctly.
machine cpu=intel-sapphire-rapids cpus=2 uintr=ordinary
thread r1 on cpu0
thread s on cpu1
thread r2
thread r3
kthread kt

expect config default & uintr == uintr       # in every task buffer
r1 uintr register
s senduipi r1 1
expect uintr r1 delivered == 1               # fine while nothing happens

# 1. The kernel-thread round trip.
switch cpu0 to kt
switch cpu0 to r1
r1 run                                       # restore skipped: owner/last_cpu match
expect hw cpu0 uinv == 0                     # XSAVES cleared it, nobody restored it
s senduipi r1 2
expect uintr r1 delivered == 1               # LOST
expect uintr r1 spurious == 1
expect uintr r1 pir == 0x4                   # stuck in the UPID
s senduipi r1 3
expect uintr r1 delivered == 1
switch cpu0 to idle                          # this save stores UINV = 0
migrate r1 to cpu0
r1 run
expect uintr r1 delivered == 1               # a real restore, still lost

# 3. fork clears the parent's UINV.
switch cpu0 to r2
r2 uintr register
fork r2 as c
r2 run
s senduipi r2 5
expect uintr r2 delivered == 0               # LOST
expect hw cpu0 uinv == 0

# 2. exec: the XRSTORS before user mode #GPs.
switch cpu0 to r3
r3 uintr register
expect warnings == 0
exec r3
r3 run
expect warnings == 1                         # "xstate restore faulted #GP"
expect hw cpu0 uinv == 0xec                  # the old receiver's UINV lives on
