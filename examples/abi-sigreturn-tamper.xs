# Question: what does sigreturn do with a frame the handler tampered with?
# Answer: (mainline Linux, arch/x86/kernel/fpu/signal.c) a wrong magic1,
#   xstate_size outside [576, user_size] or above extended_size, or a
#   missing MAGIC2 make it restore the legacy area only (x87, SSE; every
#   other user component to init) -- not an error. The XSAVE header goes
#   to the hardware: XSTATE_BV bits outside XCR0, XCOMP_BV or header bytes
#   8-23 non-zero, reserved MXCSR bits make XRSTOR #GP and the task gets
#   SIGSEGV with its user state reset to init. Header bytes 24-63 are not
#   checked by the standard-form XRSTOR (SDM 13.8.1). A component left out
#   of XSTATE_BV or of the sw xfeatures goes to init. Each case flips
#   exactly the bit or size its rule guards.
machine cpu=intel-icelake-sp cpus=1
thread t1 on cpu0
t1 write xmm3 = fill:0x33
t1 write ymm3 = fill:0x33

note magic1 bit 0 -> legacy-only restore
t1 signal SIGUSR1
t1 frame flip magic1 0
t1 sigreturn
expect errno t1 == 0
expect signal t1 == SIGUSR1
expect t1 xmm3 == fill:0x33
expect t1 ymm3 == 0x33333333333333333333333333333333
t1 write ymm3 = fill:0x33

note xstate_size 575 -> legacy-only
t1 signal SIGUSR1
t1 frame set xstate_size = 575
t1 sigreturn
expect errno t1 == 0
expect t1 ymm3 == 0x33333333333333333333333333333333
t1 write ymm3 = fill:0x33

note xstate_size 2700 (> user_size 2696) -> legacy-only
t1 signal SIGUSR1
t1 frame set xstate_size = 2700
t1 sigreturn
expect t1 ymm3 == 0x33333333333333333333333333333333
t1 write ymm3 = fill:0x33

note extended_size 2695 (< xstate_size) -> legacy-only
t1 signal SIGUSR1
t1 frame set extended_size = 2695
t1 sigreturn
expect t1 ymm3 == 0x33333333333333333333333333333333
t1 write ymm3 = fill:0x33

note extended_size 2696 (= xstate_size, not + 4): mainline accepts it
t1 signal SIGUSR1
t1 frame set extended_size = 2696
t1 sigreturn
expect t1 ymm3 == fill:0x33

note MAGIC2 bit 31 -> legacy-only
t1 signal SIGUSR1
t1 frame flip magic2 31
t1 sigreturn
expect errno t1 == 0
expect t1 ymm3 == 0x33333333333333333333333333333333
t1 write ymm3 = fill:0x33

note sw xfeatures without AVX -> AVX to init
t1 signal SIGUSR1
t1 frame flip sw_xfeatures 2
t1 sigreturn
expect t1 ymm3 == 0x33333333333333333333333333333333
t1 write ymm3 = fill:0x33

note XSTATE_BV without AVX -> AVX to init
t1 signal SIGUSR1
t1 frame flip xstate_bv 2
t1 sigreturn
expect t1 ymm3 == 0x33333333333333333333333333333333
t1 write ymm3 = fill:0x33

note XSTATE_BV bit 8 (PT: supervisor, not in XCR0) -> #GP -> SIGSEGV, state reset
t1 signal SIGUSR1
t1 frame flip xstate_bv 8
t1 sigreturn
expect errno t1 == EFAULT
expect signal t1 == SIGSEGV
expect t1 xmm3 == zero
t1 write ymm3 = fill:0x33

note XCOMP_BV bit 0 -> #GP -> SIGSEGV
t1 signal SIGUSR1
t1 frame flip xcomp_bv 0
t1 sigreturn
expect signal t1 == SIGSEGV
expect t1 ymm3 == zero
t1 write ymm3 = fill:0x33

note XCOMP_BV bit 63 (a compacted header) -> #GP -> SIGSEGV
t1 signal SIGUSR1
t1 frame flip xcomp_bv 63
t1 sigreturn
expect signal t1 == SIGSEGV
t1 write ymm3 = fill:0x33

note header byte 16 (reserved[0], as corrupt_xstate_header.c) -> #GP -> SIGSEGV
t1 signal SIGUSR1
t1 frame flip hdr.16 0
t1 sigreturn
expect signal t1 == SIGSEGV
expect t1 ymm3 == zero
t1 write ymm3 = fill:0x33

note header byte 24 -> not checked (SDM 13.8.1): restored
t1 signal SIGUSR1
t1 frame flip hdr.24 0
t1 sigreturn
expect errno t1 == 0
expect t1 ymm3 == fill:0x33

note MXCSR bit 16 (reserved) -> #GP -> SIGSEGV
t1 signal SIGUSR1
t1 frame flip mxcsr 16
t1 sigreturn
expect signal t1 == SIGSEGV
expect t1 ymm3 == zero
t1 write ymm3 = fill:0x33

note MXCSR bit 16 with magic1 broken: the legacy-only path checks it too
t1 signal SIGUSR1
t1 frame flip magic1 0
t1 frame flip mxcsr 16
t1 sigreturn
expect signal t1 == SIGSEGV
t1 write ymm3 = fill:0x33

note fpstate pointer NULL -> user state reset, no error
t1 signal SIGUSR1
t1 frame set uc.fpstate = 0
t1 sigreturn
expect errno t1 == 0
expect t1 ymm3 == zero
t1 write ymm3 = fill:0x33

note fpstate pointer unmapped -> SIGSEGV
t1 signal SIGUSR1
t1 frame set uc.fpstate = 0x10000000
t1 sigreturn
expect signal t1 == SIGSEGV
expect in-handler t1 == 0
