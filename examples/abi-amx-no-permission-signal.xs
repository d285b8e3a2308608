# Question: what does a task that touches AMX tile data without permission
#   see in its SIGILL handler?
# Answer: the #NM of the armed XFD becomes SIGILL with si_code ILL_ILLOPC
#   (1) and trapno 7 (#NM). The frame is the small one: xstate_size 2816,
#   the sw xfeatures without XTILEDATA -- exactly what the kernel selftest
#   amx.c checks in its handler (xstate_size <= the XTILEDATA offset).
#   Nothing was allocated; after the handler returns the task goes on.
machine cpu=intel-sapphire-rapids cpus=1
thread t1 on cpu0

t1 sigaction SIGILL
t1 write tilecfg = bytes:01000000000000000000000000000000400000000000000000000000000000000000000000000000000000000000000010000000000000000000000000000000
t1 write ymm1 = fill:0x31
t1 write tmm0 = fill:0x01
expect signal t1 == SIGILL
expect in-handler t1 == 1
expect frame t1 uc.signo == 4
expect frame t1 uc.code == 1
expect frame t1 uc.trapno == 7
expect frame t1 xstate_size == 2816
expect frame t1 sw_xfeatures & xtiledata == 0
expect frame t1 magic2 == 0x46505845
expect frame t1 ymm1 == fill:0x31
expect frame t1 tilecfg == bytes:01000000000000000000000000000000400000000000000000000000000000000000000000000000000000000000000010000000000000000000000000000000
expect mem t1 == 2560
# The handler runs with clean registers.
expect t1 ymm1 == zero
t1 sigreturn
expect in-handler t1 == 0
expect t1 ymm1 == fill:0x31
expect t1 tilecfg == bytes:01000000000000000000000000000000400000000000000000000000000000000000000000000000000000000000000010000000000000000000000000000000
