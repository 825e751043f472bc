;; Base64 decoding for the ESA bundle's load (esa/entry.js): the text is copied into memory
;; by TextEncoder.encodeInto (native) and decoded here in place; a JS loop over 330 KB of text
;; took ~10 ms of the load's CPU, cold. Memory: the 256-byte table at 0, text and output at 256.
(module
  (memory (export "memory") 1)
  (data (i32.const 0) "\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\3e\00\00\00\3f\34\35\36\37\38\39\3a\3b\3c\3d\00\00\00\00\00\00\00\00\01\02\03\04\05\06\07\08\09\0a\0b\0c\0d\0e\0f\10\11\12\13\14\15\16\17\18\19\00\00\00\00\00\00\1a\1b\1c\1d\1e\1f\20\21\22\23\24\25\26\27\28\29\2a\2b\2c\2d\2e\2f\30\31\32\33\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00")
  (func $at (param $p i32) (result i32)
    (i32.load8_u (i32.load8_u (local.get $p))))
  ;; Decodes the n characters at 256 (no padding) to bytes at 256; returns how many.
  (func (export "decode") (param $n i32) (result i32)
    (local $i i32) (local $o i32) (local $v i32) (local $end i32)
    (local.set $i (i32.const 256))
    (local.set $o (i32.const 256))
    (local.set $end (i32.add (i32.const 256) (local.get $n)))
    (block $done
      (loop $next
        (br_if $done (i32.gt_u (i32.add (local.get $i) (i32.const 4)) (local.get $end)))
        (local.set $v
          (i32.or
            (i32.or (i32.shl (call $at (local.get $i)) (i32.const 18))
                    (i32.shl (call $at (i32.add (local.get $i) (i32.const 1))) (i32.const 12)))
            (i32.or (i32.shl (call $at (i32.add (local.get $i) (i32.const 2))) (i32.const 6))
                    (call $at (i32.add (local.get $i) (i32.const 3))))))
        (i32.store8 (local.get $o) (i32.shr_u (local.get $v) (i32.const 16)))
        (i32.store8 (i32.add (local.get $o) (i32.const 1)) (i32.shr_u (local.get $v) (i32.const 8)))
        (i32.store8 (i32.add (local.get $o) (i32.const 2)) (local.get $v))
        (local.set $i (i32.add (local.get $i) (i32.const 4)))
        (local.set $o (i32.add (local.get $o) (i32.const 3)))
        (br $next)))
    (block $tail
      (br_if $tail (i32.lt_u (i32.sub (local.get $end) (local.get $i)) (i32.const 2)))
      (local.set $v
        (i32.or (i32.shl (call $at (local.get $i)) (i32.const 12))
                (i32.shl (call $at (i32.add (local.get $i) (i32.const 1))) (i32.const 6))))
      (if (i32.eq (i32.sub (local.get $end) (local.get $i)) (i32.const 3))
        (then (local.set $v (i32.or (local.get $v) (call $at (i32.add (local.get $i) (i32.const 2)))))))
      (i32.store8 (local.get $o) (i32.shr_u (local.get $v) (i32.const 10)))
      (local.set $o (i32.add (local.get $o) (i32.const 1)))
      (if (i32.eq (i32.sub (local.get $end) (local.get $i)) (i32.const 3))
        (then
          (i32.store8 (local.get $o) (i32.shr_u (local.get $v) (i32.const 2)))
          (local.set $o (i32.add (local.get $o) (i32.const 1))))))
    (i32.sub (local.get $o) (i32.const 256))))
