# Question: seed 002, 3: what happens if fs or gs points to a real descriptor
#   and that descriptor changes?
# Answer: both policies, TLS (set_thread_area) by the task itself: the kernel
#   reloads FS/GS of the caller that use the changed slot at once
#   ("forcibly refresh it", arch/x86/kernel/tls.c), so the new base
#   (0x9000) is in effect immediately and after any switch.
#   LDT (modify_ldt): on 64-bit the kernel reloads only DS/ES
#   (refresh_ldt_segments), so a running task keeps the old base (0x7000)
#   in GS (selector 0xf, LDT entry 1) until GS is reloaded.
#   fsgs=linux: the saved base is written back after every switch-in, so GS
#     keeps 0x7000 for good (selector and base preserved independently); only
#     a new MOV GS picks up 0x9000.
#   fsgs=lutomirski2016: the next switch-in reloads the selector from the
#     in-memory descriptor: 0x9000 (Linux without FSGSBASE does the same:
#     --policy fsgsbase=off).
# A descriptor that goes away (modify_ldt with an empty entry) under a loaded
#   selector: both policies keep running with the cached base; the reload at
#   the next switch-in faults and the kernel's fixup loads selector 0 --
#   fsgs=linux then restores the saved base, fsgs=lutomirski2016 keeps base 0.
# Run both:
#   xstate run examples/fsgs-q3-descriptor-change.xs
#   xstate run --policy fsgs=lutomirski2016 examples/fsgs-q3-descriptor-change.xs
machine cpu=intel-icelake-sp cpus=1
thread t1
thread t2

# TLS: the caller's FS is refreshed at once.
t1 set_thread_area -1 0x7000
t1 mov fs = 0x63
t1 set_thread_area 12 0x9000
expect seg t1 fsbase == 0x9000
switch cpu0 to t2
switch cpu0 to t1
expect seg t1 fsbase == 0x9000

# LDT: not refreshed on 64-bit.
t1 modify_ldt 1 0x7000
t1 mov gs = 0xf                  # LDT entry 1, RPL 3
expect seg t1 gsbase == 0x7000
t1 modify_ldt 1 0x9000
expect seg t1 gsbase == 0x7000   # still cached
switch cpu0 to t2
switch cpu0 to t1
expect seg t1 gs == 0xf
expect seg t1 gsbase == 0x7000 if fsgs=linux
expect seg t1 gsbase == 0x9000 if fsgs=lutomirski2016
t1 mov gs = 0xf                  # an explicit reload always sees the new descriptor
expect seg t1 gsbase == 0x9000

# The descriptor disappears.
t1 wrgsbase 0x300000000
t1 modify_ldt 1 empty
expect seg t1 gs == 0xf
switch cpu0 to t2
switch cpu0 to t1
expect seg t1 gs == 0
expect seg t1 gsbase == 0x300000000 if fsgs=linux
expect seg t1 gsbase == 0 if fsgs=lutomirski2016
