# Question: how many restores does the "registers still valid" shortcut
#   (fpregs_state_valid) save?
# Answer: with shortcut=off every return to user after a switch or a kernel
#   thread restores, even when the registers already hold the task's state.
#   The same steps as lazy-restore-after-kthread.xs and same-cpu-return.xs:
#   3 restores here against 1 with the default policy, and the values are
#   the same -- the shortcut is purely an optimization.
machine cpu=intel-sapphire-rapids cpus=1 shortcut=off
thread t1 on cpu0
kthread kworker on cpu0

t1 write zmm5 = seq
switch cpu0 to kworker
switch cpu0 to t1
return cpu0
switch cpu0 to idle
switch cpu0 to t1
return cpu0
expect restores cpu0 == 3
expect skipped cpu0 == 0
expect t1 zmm5 == seq
