# Question: how does the pre-allocation call of seed 004 (item 7) differ
#   from allocation at first use?
# Answer: not in Linux; policy prealloc=on adds ARCH_REQ_XCOMP_PREALLOC
#   (0x10F0, index 18). It does the first-use allocation from a system call
#   of one task: without permission EPERM, when the allocation fails ENOMEM
#   -- an error code the program can handle, instead of a SIGSEGV at the
#   faulting instruction -- and on success XFD is disarmed at once, so the
#   first tile instruction takes no #NM. Per task: another thread of the
#   same process still allocates at its first use. Without the policy the
#   option is unknown (EINVAL), as in Linux.
machine cpu=intel-sapphire-rapids cpus=2 prealloc=on
thread t1 on cpu0
clone t1 as t2
switch cpu1 to t2

t1 arch_prctl REQ_XCOMP_PREALLOC 18
expect errno t1 == EPERM
t1 arch_prctl REQ_XCOMP_PERM 18
alloc-fail next 1
t1 arch_prctl REQ_XCOMP_PREALLOC 18
expect errno t1 == ENOMEM
expect buffer t1 == default
expect signal t1 == none
t1 arch_prctl REQ_XCOMP_PREALLOC 18
expect errno t1 == 0
expect buffer t1 == prealloc
expect xfd cpu0 == 0
expect mem t1 == 13312
counters reset
t1 write tilecfg = bytes:01000000000000000000000000000000400000000000000000000000000000000000000000000000000000000000000010000000000000000000000000000000
t1 write tmm0 = fill:0x0a
expect fault t1 == none
expect nm == 0
# The other thread: first use as usual.
expect buffer t2 == default
t2 write tilecfg = bytes:01000000000000000000000000000000400000000000000000000000000000000000000000000000000000000000000010000000000000000000000000000000
t2 write tmm0 = fill:0x0b
expect fault t2 == #NM
expect buffer t2 == grown
