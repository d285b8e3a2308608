# Question: what happens the first time a task with AMX permission touches
#   tile data?
# Answer: XFD arms XTILEDATA for every task, so the access raises #NM with
#   IA32_XFD_ERR set. The kernel clears XFD_ERR, finds the permission in the
#   process (granted by arch_prctl(ARCH_REQ_XCOMP_PERM, 18)), allocates a
#   buffer of the permitted size (the default one stays: Linux embeds it in
#   task_struct), disarms XFD for the task and lets the instruction run
#   again. Another process, without permission, still gets SIGILL.
machine cpu=intel-sapphire-rapids cpus=2
thread t1 on cpu0
thread t2 on cpu1

t1 arch_prctl GET_XCOMP_SUPP
expect value t1 & xtilecfg|xtiledata == xtilecfg|xtiledata
t1 arch_prctl REQ_XCOMP_PERM 18
expect errno t1 == 0
t1 arch_prctl GET_XCOMP_PERM
expect value t1 & xtiledata == xtiledata
expect buffer t1 == default
expect mem t1 == 2560
expect xfd cpu0 == xtiledata

t1 write tilecfg = bytes:01000000000000000000000000000000400000000000000000000000000000000000000000000000000000000000000010000000000000000000000000000000
t1 write tmm0 = fill:0x5a
expect fault t1 == #NM
expect signal t1 == none
expect buffer t1 == grown
expect xfd cpu0 == 0
expect t1 tmm0 == fill:0x5a
expect xstate-size t1 == 11008

# The other process has no permission: SIGILL, nothing allocated.
t2 write tilecfg = bytes:01000000000000000000000000000000400000000000000000000000000000000000000000000000000000000000000010000000000000000000000000000000
t2 write tmm0 = fill:0x11
expect signal t2 == SIGILL
expect buffer t2 == default
expect xfd cpu1 == xtiledata

# The tile data follows t1 across CPUs.
migrate t1 to cpu1
expect t1 tmm0 == fill:0x5a
expect xfd cpu1 == 0
expect mem t1 == 13312
expect mem == 15872
