# Question: a task migrates to another CPU and later back to the first one,
#   whose owner pointer still names it. Which arrivals need a restore?
# Answer: both. The new CPU holds someone else's registers. On the way back
#   the first CPU's owner is still the task, but the task's registers moved
#   on (it ran and wrote on cpu1), so last_cpu is cpu1 and
#   fpregs_state_valid() fails: the kernel must restore. A kernel that checked
#   only the owner (mutant shortcut-ignores-last-cpu) would skip it and the
#   task would read its stale cpu0 values: run this file with
#   --policy mutant=shortcut-ignores-last-cpu to see the shadow check fail.
machine cpu=intel-sapphire-rapids cpus=2
thread t1 on cpu0
thread t2 on cpu1

t1 write ymm1 = fill:0x11
t2 write ymm1 = fill:0x22
counters reset
migrate t1 to cpu1               # t2 is switched out on cpu1
expect t1 ymm1 == fill:0x11
expect restores cpu1 == 1
expect owner cpu0 == t1          # stale: cpu0 still holds the old copy
expect last-cpu t1 == cpu1
t1 write ymm1 = fill:0x33
migrate t1 to cpu0
expect owner cpu0 == t1
expect t1 ymm1 == fill:0x33      # restored, not the stale 0x11
expect restores cpu0 == 1
expect skipped == 0
