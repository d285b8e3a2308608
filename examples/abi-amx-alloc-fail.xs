# Question: what if the kernel cannot allocate the AMX buffer at first use?
# Answer: the task gets SIGSEGV at the instruction that took the #NM
#   (seed 004 item 6; Linux: xfd_enable_feature() -> -EFAULT ->
#   force_sig(SIGSEGV)). Nothing changed: no memory taken, XFD still armed,
#   the other registers intact. The next attempt, with memory available,
#   succeeds.
machine cpu=intel-sapphire-rapids cpus=1
thread t1 on cpu0

t1 arch_prctl REQ_XCOMP_PERM 18
t1 write zmm7 = fill:0x77
t1 write tilecfg = bytes:01000000000000000000000000000000400000000000000000000000000000000000000000000000000000000000000010000000000000000000000000000000
alloc-fail next 1
t1 write tmm2 = fill:0x22
expect fault t1 == #NM
expect signal t1 == SIGSEGV
expect buffer t1 == default
expect mem t1 == 2560
expect xfd cpu0 == xtiledata
expect t1 zmm7 == fill:0x77
# Memory is back.
t1 write tmm2 = fill:0x22
expect signal t1 == none
expect buffer t1 == grown
expect mem t1 == 13312
expect t1 tmm2 == fill:0x22
