# Question: how does AMX change signal frames?
# Answer: only for processes that asked for AMX (seed 004 item 8): a task
#   that has not used tiles gets the 2816-byte image even with permission;
#   after its first use the image is 11008 bytes with the tile data at
#   offset 2816. When the tiles are back in their init state (TILERELEASE),
#   the frame keeps its size but XSAVE leaves the 8 KiB out (item 9's
#   shortcut): XSTATE_BV[18] = 0 and the bytes are not written.
machine cpu=intel-sapphire-rapids cpus=1
thread t1 on cpu0

t1 signal SIGUSR1
expect frame t1 xstate_size == 2816
expect frame t1 sw_xfeatures & xtiledata == 0
t1 sigreturn
t1 arch_prctl REQ_XCOMP_PERM 18
t1 signal SIGUSR1
expect frame t1 xstate_size == 2816
t1 sigreturn
t1 write tilecfg = bytes:01000000000000000000000000000000400000000000000000000000000000000000000000000000000000000000000010000000000000000000000000000000
t1 write tmm1 = fill:0xa1
t1 signal SIGUSR1
expect frame t1 xstate_size == 11008
expect frame t1 extended_size == 11012
expect frame t1 sw_xfeatures & xtilecfg|xtiledata == xtilecfg|xtiledata
expect frame t1 xstate_bv & xtiledata == xtiledata
expect frame t1 tmm1 == fill:0xa1
expect frame t1 magic2 == 0x46505845
expect t1 tilecfg == zero
t1 sigreturn
expect t1 tmm1 == fill:0xa1
# Tiles in their init state: not written.
t1 tilerelease
t1 signal SIGUSR1
expect frame t1 xstate_size == 11008
expect frame t1 xstate_bv & xtilecfg|xtiledata == 0
t1 sigreturn
expect t1 tilecfg == zero
