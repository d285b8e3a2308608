# Question: a user task is switched out for a kernel thread and then back in
#   on the same CPU. Does its return to user mode need a restore?
# Answer: no. The switch-out saves the task's registers (XSAVES) and sets
#   TIF_NEED_FPU_LOAD, but a kernel thread never loads user FPU state, so the
#   CPU's owner stays the task and its last_cpu is still this CPU:
#   fpregs_state_valid() holds and the exit to user skips the XRSTORS. The
#   one restore counted below is the task's first entry to user mode.
machine cpu=intel-sapphire-rapids cpus=1
thread t1 on cpu0
kthread kworker on cpu0

t1 write zmm5 = seq
t1 write k3 = 0x00ff00ff00ff00ff
expect restores cpu0 == 1
switch cpu0 to kworker          # t1 saved, owner stays t1
expect saves cpu0 == 1
expect owner cpu0 == t1
expect needs-load t1
switch cpu0 to t1
return cpu0                     # the lazy part: no XRSTORS
expect !needs-load t1
expect restores cpu0 == 1
expect skipped cpu0 == 1
expect t1 zmm5 == seq
expect t1 k3 == 0x00ff00ff00ff00ff
