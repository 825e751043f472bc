// edge-registry-proxy 0.1.0 · source 96171fa88cd21f5b (release/MANIFEST.json: the files of a release)
var __defProp = Object.defineProperty;
var __export = (target, all) => {
  for (var name in all)
    __defProp(target, name, { get: all[name], enumerable: true });
};

// cloudflare/worker.js
import wasmModule from "./proxy_bg.wasm";

// dist/wasm/proxy_bg.js
var proxy_bg_exports = {};
__export(proxy_bg_exports, {
  __erpNewInstance: () => __erpNewInstance,
  __wbg___edgeRegistryProxyPanic_3e1ab47c8e81a144: () => __wbg___edgeRegistryProxyPanic_3e1ab47c8e81a144,
  __wbg___wbindgen_boolean_get_4f1baf9a00be3c74: () => __wbg___wbindgen_boolean_get_4f1baf9a00be3c74,
  __wbg___wbindgen_is_function_741ff2bb612836f5: () => __wbg___wbindgen_is_function_741ff2bb612836f5,
  __wbg___wbindgen_is_null_c22311b1cc228e3a: () => __wbg___wbindgen_is_null_c22311b1cc228e3a,
  __wbg___wbindgen_is_undefined_be5b34249ff1fc15: () => __wbg___wbindgen_is_undefined_be5b34249ff1fc15,
  __wbg___wbindgen_number_get_934b640d0889af78: () => __wbg___wbindgen_number_get_934b640d0889af78,
  __wbg___wbindgen_string_get_7ce8eee7fd327545: () => __wbg___wbindgen_string_get_7ce8eee7fd327545,
  __wbg___wbindgen_throw_4c88d8bf264fd984: () => __wbg___wbindgen_throw_4c88d8bf264fd984,
  __wbg__wbg_cb_unref_09736879a3f67559: () => __wbg__wbg_cb_unref_09736879a3f67559,
  __wbg_append_ba9a4dc30a0323fd: () => __wbg_append_ba9a4dc30a0323fd,
  __wbg_cacheGet_dfdc4cba2c794879: () => __wbg_cacheGet_dfdc4cba2c794879,
  __wbg_cachePutStream_96c3f28821cf330a: () => __wbg_cachePutStream_96c3f28821cf330a,
  __wbg_cachePut_e37cd99dedeb17e3: () => __wbg_cachePut_e37cd99dedeb17e3,
  __wbg_call_a410eb4b59ed5965: () => __wbg_call_a410eb4b59ed5965,
  __wbg_concat_f1d8424b6f6db5d6: () => __wbg_concat_f1d8424b6f6db5d6,
  __wbg_error_22131e5d874a6ade: () => __wbg_error_22131e5d874a6ade,
  __wbg_fetch_367d8353632c5a83: () => __wbg_fetch_367d8353632c5a83,
  __wbg_from_eac91875c8a5ffa4: () => __wbg_from_eac91875c8a5ffa4,
  __wbg_get_2080c49015e35254: () => __wbg_get_2080c49015e35254,
  __wbg_get_556f1c9a5c587e8c: () => __wbg_get_556f1c9a5c587e8c,
  __wbg_get_d7176cfb76d71114: () => __wbg_get_d7176cfb76d71114,
  __wbg_get_unchecked_e6325ad374eff861: () => __wbg_get_unchecked_e6325ad374eff861,
  __wbg_headerLines_2a649158813757fb: () => __wbg_headerLines_2a649158813757fb,
  __wbg_headers_5fc0106c076eb731: () => __wbg_headers_5fc0106c076eb731,
  __wbg_headers_9ef80dd266706f48: () => __wbg_headers_9ef80dd266706f48,
  __wbg_instanceof_Error_74e3cca0c4a69161: () => __wbg_instanceof_Error_74e3cca0c4a69161,
  __wbg_isArray_bcf1376d0d732d08: () => __wbg_isArray_bcf1376d0d732d08,
  __wbg_length_186163212ffe79c3: () => __wbg_length_186163212ffe79c3,
  __wbg_length_b03a0fabb109b1e9: () => __wbg_length_b03a0fabb109b1e9,
  __wbg_log_6f8b89217665bacd: () => __wbg_log_6f8b89217665bacd,
  __wbg_message_43d8c8f1d543a349: () => __wbg_message_43d8c8f1d543a349,
  __wbg_method_3d406ebab4dd9853: () => __wbg_method_3d406ebab4dd9853,
  __wbg_new_13de428334042d26: () => __wbg_new_13de428334042d26,
  __wbg_new_277c27c26f94cbc2: () => __wbg_new_277c27c26f94cbc2,
  __wbg_new_37eb45aaf5eeb820: () => __wbg_new_37eb45aaf5eeb820,
  __wbg_new_cd4348290afae586: () => __wbg_new_cd4348290afae586,
  __wbg_new_from_slice_b8daf545a41c6aa0: () => __wbg_new_from_slice_b8daf545a41c6aa0,
  __wbg_new_typed_e09da9dae6ee5935: () => __wbg_new_typed_e09da9dae6ee5935,
  __wbg_new_with_opt_js_u8_array_and_init_8da353e1bae04cf0: () => __wbg_new_with_opt_js_u8_array_and_init_8da353e1bae04cf0,
  __wbg_new_with_opt_readable_stream_and_init_383c64eccf9e9cc7: () => __wbg_new_with_opt_readable_stream_and_init_383c64eccf9e9cc7,
  __wbg_new_with_opt_str_and_init_6456bed24baae6fc: () => __wbg_new_with_opt_str_and_init_6456bed24baae6fc,
  __wbg_new_with_opt_u8_array_and_init_e061e15516518306: () => __wbg_new_with_opt_u8_array_and_init_e061e15516518306,
  __wbg_now_463ac581d2fc7ea3: () => __wbg_now_463ac581d2fc7ea3,
  __wbg_prototypesetcall_13162965d1fe7aa3: () => __wbg_prototypesetcall_13162965d1fe7aa3,
  __wbg_push_c9f4893fc209f768: () => __wbg_push_c9f4893fc209f768,
  __wbg_queueMicrotask_1e8503a8a690f0a3: () => __wbg_queueMicrotask_1e8503a8a690f0a3,
  __wbg_queueMicrotask_4a1a4d8dd332373b: () => __wbg_queueMicrotask_4a1a4d8dd332373b,
  __wbg_randomId_a4739910efc218ee: () => __wbg_randomId_a4739910efc218ee,
  __wbg_readBytes_6a3f17f247b3aca2: () => __wbg_readBytes_6a3f17f247b3aca2,
  __wbg_readText_562a9cda60e947b8: () => __wbg_readText_562a9cda60e947b8,
  __wbg_resolve_dbf78ab4942478b0: () => __wbg_resolve_dbf78ab4942478b0,
  __wbg_set_2793479888329cb6: () => __wbg_set_2793479888329cb6,
  __wbg_set_headers_07f10dbe49bc0e77: () => __wbg_set_headers_07f10dbe49bc0e77,
  __wbg_set_headers_6d75a7df4eb22716: () => __wbg_set_headers_6d75a7df4eb22716,
  __wbg_set_method_639e69af35614d36: () => __wbg_set_method_639e69af35614d36,
  __wbg_set_redirect_a95a432ab7d10765: () => __wbg_set_redirect_a95a432ab7d10765,
  __wbg_set_status_bd9dc81d1c17b108: () => __wbg_set_status_bd9dc81d1c17b108,
  __wbg_set_wasm: () => __wbg_set_wasm,
  __wbg_settle_70eb74432dcba949: () => __wbg_settle_70eb74432dcba949,
  __wbg_slice_68528dfec3171b47: () => __wbg_slice_68528dfec3171b47,
  __wbg_static_accessor_GLOBAL_THIS_003ee833af9699fc: () => __wbg_static_accessor_GLOBAL_THIS_003ee833af9699fc,
  __wbg_static_accessor_GLOBAL_e4293fb22cbe77da: () => __wbg_static_accessor_GLOBAL_e4293fb22cbe77da,
  __wbg_static_accessor_SELF_53bb20457401453d: () => __wbg_static_accessor_SELF_53bb20457401453d,
  __wbg_static_accessor_WINDOW_b5e0810bfecb7feb: () => __wbg_static_accessor_WINDOW_b5e0810bfecb7feb,
  __wbg_status_cb85b6c8d1769fa1: () => __wbg_status_cb85b6c8d1769fa1,
  __wbg_then_656f253a5dd7d8ea: () => __wbg_then_656f253a5dd7d8ea,
  __wbg_then_e3f7f2d365708be8: () => __wbg_then_e3f7f2d365708be8,
  __wbg_toString_6b1cac73c93ef5d1: () => __wbg_toString_6b1cac73c93ef5d1,
  __wbg_url_1be993c7b186415b: () => __wbg_url_1be993c7b186415b,
  __wbg_warn_b7f980d6cdd13ae1: () => __wbg_warn_b7f980d6cdd13ae1,
  __wbindgen_generic_0000000000000001: () => __wbindgen_generic_0000000000000001,
  __wbindgen_generic_0000000000000002: () => __wbindgen_generic_0000000000000002,
  __wbindgen_generic_0000000000000003: () => __wbindgen_generic_0000000000000003,
  __wbindgen_object_clone_ref: () => __wbindgen_object_clone_ref,
  __wbindgen_object_drop_ref: () => __wbindgen_object_drop_ref,
  handle: () => handle,
  start: () => start
});
function handle(request, config, platform) {
  try {
    const retptr = wasm.__wbindgen_add_to_stack_pointer(-16) >>> 0;
    wasm.handle(retptr, addHeapObject(request), addHeapObject(config), addHeapObject(platform));
    var r0 = getDataViewMemory0().getInt32(retptr + 4 * 0, true);
    var r1 = getDataViewMemory0().getInt32(retptr + 4 * 1, true);
    var r2 = getDataViewMemory0().getInt32(retptr + 4 * 2, true);
    if (r2) {
      throw takeObject(r1);
    }
    return takeObject(r0);
  } finally {
    wasm.__wbindgen_add_to_stack_pointer(16);
  }
}
function start() {
  wasm.start();
}
function __wbg___edgeRegistryProxyPanic_3e1ab47c8e81a144(arg0, arg1) {
  globalThis.__edgeRegistryProxyPanic(getStringFromWasm0(arg0, arg1));
}
function __wbg___wbindgen_boolean_get_4f1baf9a00be3c74(arg0) {
  const v = getObject(arg0);
  const ret = typeof v === "boolean" ? v : void 0;
  return isLikeNone(ret) ? 16777215 : ret ? 1 : 0;
}
function __wbg___wbindgen_is_function_741ff2bb612836f5(arg0) {
  const ret = typeof getObject(arg0) === "function";
  return ret;
}
function __wbg___wbindgen_is_null_c22311b1cc228e3a(arg0) {
  const ret = getObject(arg0) === null;
  return ret;
}
function __wbg___wbindgen_is_undefined_be5b34249ff1fc15(arg0) {
  const ret = getObject(arg0) === void 0;
  return ret;
}
function __wbg___wbindgen_number_get_934b640d0889af78(arg0, arg1) {
  const obj = getObject(arg1);
  const ret = typeof obj === "number" ? obj : void 0;
  getDataViewMemory0().setFloat64((arg0 >>> 0) + 8 * 1, isLikeNone(ret) ? 0 : ret, true);
  getDataViewMemory0().setInt32((arg0 >>> 0) + 4 * 0, !isLikeNone(ret), true);
}
function __wbg___wbindgen_string_get_7ce8eee7fd327545(arg0, arg1) {
  const obj = getObject(arg1);
  const ret = typeof obj === "string" ? obj : void 0;
  var ptr1 = isLikeNone(ret) ? 0 : passStringToWasm0(ret, wasm.__wbindgen_export, wasm.__wbindgen_export2);
  var len1 = WASM_VECTOR_LEN;
  getDataViewMemory0().setInt32((arg0 >>> 0) + 4 * 1, len1, true);
  getDataViewMemory0().setInt32((arg0 >>> 0) + 4 * 0, ptr1, true);
}
function __wbg___wbindgen_throw_4c88d8bf264fd984(arg0, arg1) {
  throw new Error(getStringFromWasm0(arg0, arg1));
}
function __wbg__wbg_cb_unref_09736879a3f67559(arg0) {
  getObject(arg0)._wbg_cb_unref();
}
function __wbg_append_ba9a4dc30a0323fd() {
  return handleError(function(arg0, arg1, arg2, arg3, arg4) {
    getObject(arg0).append(getStringFromWasm0(arg1, arg2), getStringFromWasm0(arg3, arg4));
  }, arguments);
}
function __wbg_cacheGet_dfdc4cba2c794879() {
  return handleError(function(arg0, arg1, arg2) {
    const ret = getObject(arg0).cacheGet(getStringFromWasm0(arg1, arg2));
    return addHeapObject(ret);
  }, arguments);
}
function __wbg_cachePutStream_96c3f28821cf330a(arg0, arg1, arg2, arg3, arg4, arg5, arg6, arg7, arg8, arg9) {
  const ret = getObject(arg0).cachePutStream(getStringFromWasm0(arg1, arg2), getObject(arg3), getObject(arg4), arg5, getStringFromWasm0(arg6, arg7), getStringFromWasm0(arg8, arg9));
  return addHeapObject(ret);
}
function __wbg_cachePut_e37cd99dedeb17e3(arg0, arg1, arg2, arg3) {
  getObject(arg0).cachePut(getStringFromWasm0(arg1, arg2), getObject(arg3));
}
function __wbg_call_a410eb4b59ed5965() {
  return handleError(function(arg0, arg1, arg2) {
    const ret = getObject(arg0).call(getObject(arg1), getObject(arg2));
    return addHeapObject(ret);
  }, arguments);
}
function __wbg_concat_f1d8424b6f6db5d6(arg0, arg1, arg2) {
  const ret = getObject(arg0).concat(getObject(arg1), arg2);
  return addHeapObject(ret);
}
function __wbg_error_22131e5d874a6ade(arg0, arg1) {
  console.error(getStringFromWasm0(arg0, arg1));
}
function __wbg_fetch_367d8353632c5a83() {
  return handleError(function(arg0, arg1, arg2, arg3) {
    const ret = getObject(arg0).fetch(getStringFromWasm0(arg1, arg2), getObject(arg3));
    return addHeapObject(ret);
  }, arguments);
}
function __wbg_from_eac91875c8a5ffa4(arg0) {
  const ret = Array.from(getObject(arg0));
  return addHeapObject(ret);
}
function __wbg_get_2080c49015e35254() {
  return handleError(function(arg0, arg1) {
    const ret = Reflect.get(getObject(arg0), getObject(arg1));
    return addHeapObject(ret);
  }, arguments);
}
function __wbg_get_556f1c9a5c587e8c() {
  return handleError(function(arg0, arg1, arg2, arg3) {
    const ret = getObject(arg1).get(getStringFromWasm0(arg2, arg3));
    var ptr1 = isLikeNone(ret) ? 0 : passStringToWasm0(ret, wasm.__wbindgen_export, wasm.__wbindgen_export2);
    var len1 = WASM_VECTOR_LEN;
    getDataViewMemory0().setInt32((arg0 >>> 0) + 4 * 1, len1, true);
    getDataViewMemory0().setInt32((arg0 >>> 0) + 4 * 0, ptr1, true);
  }, arguments);
}
function __wbg_get_d7176cfb76d71114(arg0, arg1) {
  const ret = getObject(arg0)[arg1 >>> 0];
  return addHeapObject(ret);
}
function __wbg_get_unchecked_e6325ad374eff861(arg0, arg1) {
  const ret = getObject(arg0)[arg1 >>> 0];
  return addHeapObject(ret);
}
function __wbg_headerLines_2a649158813757fb(arg0, arg1, arg2) {
  const ret = getObject(arg1).headerLines(getObject(arg2));
  const ptr1 = passStringToWasm0(ret, wasm.__wbindgen_export, wasm.__wbindgen_export2);
  const len1 = WASM_VECTOR_LEN;
  getDataViewMemory0().setInt32((arg0 >>> 0) + 4 * 1, len1, true);
  getDataViewMemory0().setInt32((arg0 >>> 0) + 4 * 0, ptr1, true);
}
function __wbg_headers_5fc0106c076eb731(arg0) {
  const ret = getObject(arg0).headers;
  return addHeapObject(ret);
}
function __wbg_headers_9ef80dd266706f48(arg0) {
  const ret = getObject(arg0).headers;
  return addHeapObject(ret);
}
function __wbg_instanceof_Error_74e3cca0c4a69161(arg0) {
  let result;
  try {
    result = getObject(arg0) instanceof Error;
  } catch (_) {
    result = false;
  }
  const ret = result;
  return ret;
}
function __wbg_isArray_bcf1376d0d732d08(arg0) {
  const ret = Array.isArray(getObject(arg0));
  return ret;
}
function __wbg_length_186163212ffe79c3(arg0) {
  const ret = getObject(arg0).length;
  return ret;
}
function __wbg_length_b03a0fabb109b1e9(arg0) {
  const ret = getObject(arg0).length;
  return ret;
}
function __wbg_log_6f8b89217665bacd(arg0, arg1, arg2) {
  getObject(arg0).log(getStringFromWasm0(arg1, arg2));
}
function __wbg_message_43d8c8f1d543a349(arg0) {
  const ret = getObject(arg0).message;
  return addHeapObject(ret);
}
function __wbg_method_3d406ebab4dd9853(arg0, arg1) {
  const ret = getObject(arg1).method;
  const ptr1 = passStringToWasm0(ret, wasm.__wbindgen_export, wasm.__wbindgen_export2);
  const len1 = WASM_VECTOR_LEN;
  getDataViewMemory0().setInt32((arg0 >>> 0) + 4 * 1, len1, true);
  getDataViewMemory0().setInt32((arg0 >>> 0) + 4 * 0, ptr1, true);
}
function __wbg_new_13de428334042d26(arg0) {
  const ret = new Uint8Array(getObject(arg0));
  return addHeapObject(ret);
}
function __wbg_new_277c27c26f94cbc2() {
  return handleError(function() {
    const ret = new Headers();
    return addHeapObject(ret);
  }, arguments);
}
function __wbg_new_37eb45aaf5eeb820() {
  const ret = new Array();
  return addHeapObject(ret);
}
function __wbg_new_cd4348290afae586() {
  const ret = new Object();
  return addHeapObject(ret);
}
function __wbg_new_from_slice_b8daf545a41c6aa0(arg0, arg1) {
  const ret = new Uint8Array(getArrayU8FromWasm0(arg0, arg1));
  return addHeapObject(ret);
}
function __wbg_new_typed_e09da9dae6ee5935(arg0, arg1) {
  try {
    var state0 = { a: arg0, b: arg1 };
    var cb0 = (arg02, arg12) => {
      const a = state0.a;
      state0.a = 0;
      try {
        return __wasm_bindgen_func_elem_839(a, state0.b, arg02, arg12);
      } finally {
        state0.a = a;
      }
    };
    const ret = new Promise(cb0);
    return addHeapObject(ret);
  } finally {
    state0.a = 0;
  }
}
function __wbg_new_with_opt_js_u8_array_and_init_8da353e1bae04cf0() {
  return handleError(function(arg0, arg1) {
    const ret = new Response(getObject(arg0), getObject(arg1));
    return addHeapObject(ret);
  }, arguments);
}
function __wbg_new_with_opt_readable_stream_and_init_383c64eccf9e9cc7() {
  return handleError(function(arg0, arg1) {
    const ret = new Response(getObject(arg0), getObject(arg1));
    return addHeapObject(ret);
  }, arguments);
}
function __wbg_new_with_opt_str_and_init_6456bed24baae6fc() {
  return handleError(function(arg0, arg1, arg2) {
    const ret = new Response(arg0 === 0 ? void 0 : getStringFromWasm0(arg0, arg1), getObject(arg2));
    return addHeapObject(ret);
  }, arguments);
}
function __wbg_new_with_opt_u8_array_and_init_e061e15516518306() {
  return handleError(function(arg0, arg1, arg2) {
    const ret = new Response(arg0 === 0 ? void 0 : getArrayU8FromWasm0(arg0, arg1), getObject(arg2));
    return addHeapObject(ret);
  }, arguments);
}
function __wbg_now_463ac581d2fc7ea3() {
  const ret = Date.now();
  return ret;
}
function __wbg_prototypesetcall_13162965d1fe7aa3(arg0, arg1, arg2) {
  Uint8Array.prototype.set.call(getArrayU8FromWasm0(arg0, arg1), getObject(arg2));
}
function __wbg_push_c9f4893fc209f768(arg0, arg1) {
  const ret = getObject(arg0).push(getObject(arg1));
  return ret;
}
function __wbg_queueMicrotask_1e8503a8a690f0a3(arg0) {
  const ret = getObject(arg0).queueMicrotask;
  return addHeapObject(ret);
}
function __wbg_queueMicrotask_4a1a4d8dd332373b(arg0) {
  queueMicrotask(getObject(arg0));
}
function __wbg_randomId_a4739910efc218ee(arg0, arg1) {
  const ret = getObject(arg1).randomId();
  const ptr1 = passStringToWasm0(ret, wasm.__wbindgen_export, wasm.__wbindgen_export2);
  const len1 = WASM_VECTOR_LEN;
  getDataViewMemory0().setInt32((arg0 >>> 0) + 4 * 1, len1, true);
  getDataViewMemory0().setInt32((arg0 >>> 0) + 4 * 0, ptr1, true);
}
function __wbg_readBytes_6a3f17f247b3aca2() {
  return handleError(function(arg0, arg1, arg2) {
    const ret = getObject(arg0).readBytes(getObject(arg1), arg2 >>> 0);
    return addHeapObject(ret);
  }, arguments);
}
function __wbg_readText_562a9cda60e947b8() {
  return handleError(function(arg0, arg1, arg2) {
    const ret = getObject(arg0).readText(getObject(arg1), arg2 >>> 0);
    return addHeapObject(ret);
  }, arguments);
}
function __wbg_resolve_dbf78ab4942478b0(arg0) {
  const ret = Promise.resolve(getObject(arg0));
  return addHeapObject(ret);
}
function __wbg_set_2793479888329cb6() {
  return handleError(function(arg0, arg1, arg2) {
    const ret = Reflect.set(getObject(arg0), getObject(arg1), getObject(arg2));
    return ret;
  }, arguments);
}
function __wbg_set_headers_07f10dbe49bc0e77(arg0, arg1) {
  getObject(arg0).headers = getObject(arg1);
}
function __wbg_set_headers_6d75a7df4eb22716(arg0, arg1) {
  getObject(arg0).headers = getObject(arg1);
}
function __wbg_set_method_639e69af35614d36(arg0, arg1, arg2) {
  getObject(arg0).method = getStringFromWasm0(arg1, arg2);
}
function __wbg_set_redirect_a95a432ab7d10765(arg0, arg1) {
  getObject(arg0).redirect = __wbindgen_enum_RequestRedirect[arg1];
}
function __wbg_set_status_bd9dc81d1c17b108(arg0, arg1) {
  getObject(arg0).status = arg1;
}
function __wbg_settle_70eb74432dcba949(arg0, arg1) {
  const ret = getObject(arg0).settle(getObject(arg1));
  return addHeapObject(ret);
}
function __wbg_slice_68528dfec3171b47() {
  return handleError(function(arg0, arg1, arg2, arg3) {
    const ret = getObject(arg0).slice(getObject(arg1), arg2, arg3);
    return addHeapObject(ret);
  }, arguments);
}
function __wbg_static_accessor_GLOBAL_THIS_003ee833af9699fc() {
  const ret = typeof globalThis === "undefined" ? void 0 : globalThis;
  return isLikeNone(ret) ? 0 : addHeapObject(ret);
}
function __wbg_static_accessor_GLOBAL_e4293fb22cbe77da() {
  const ret = typeof global === "undefined" ? void 0 : global;
  return isLikeNone(ret) ? 0 : addHeapObject(ret);
}
function __wbg_static_accessor_SELF_53bb20457401453d() {
  const ret = typeof self === "undefined" ? void 0 : self;
  return isLikeNone(ret) ? 0 : addHeapObject(ret);
}
function __wbg_static_accessor_WINDOW_b5e0810bfecb7feb() {
  const ret = typeof window === "undefined" ? void 0 : window;
  return isLikeNone(ret) ? 0 : addHeapObject(ret);
}
function __wbg_status_cb85b6c8d1769fa1(arg0) {
  const ret = getObject(arg0).status;
  return ret;
}
function __wbg_then_656f253a5dd7d8ea(arg0, arg1, arg2) {
  const ret = getObject(arg0).then(getObject(arg1), getObject(arg2));
  return addHeapObject(ret);
}
function __wbg_then_e3f7f2d365708be8(arg0, arg1) {
  const ret = getObject(arg0).then(getObject(arg1));
  return addHeapObject(ret);
}
function __wbg_toString_6b1cac73c93ef5d1() {
  return handleError(function(arg0, arg1) {
    const ret = getObject(arg0).toString(arg1);
    return addHeapObject(ret);
  }, arguments);
}
function __wbg_url_1be993c7b186415b(arg0, arg1) {
  const ret = getObject(arg1).url;
  const ptr1 = passStringToWasm0(ret, wasm.__wbindgen_export, wasm.__wbindgen_export2);
  const len1 = WASM_VECTOR_LEN;
  getDataViewMemory0().setInt32((arg0 >>> 0) + 4 * 1, len1, true);
  getDataViewMemory0().setInt32((arg0 >>> 0) + 4 * 0, ptr1, true);
}
function __wbg_warn_b7f980d6cdd13ae1(arg0, arg1) {
  console.warn(getStringFromWasm0(arg0, arg1));
}
function __wbindgen_generic_0000000000000001(arg0, arg1) {
  const ret = makeMutClosure(arg0, arg1, __wasm_bindgen_func_elem_837);
  return addHeapObject(ret);
}
function __wbindgen_generic_0000000000000002(arg0) {
  const ret = arg0;
  return addHeapObject(ret);
}
function __wbindgen_generic_0000000000000003(arg0, arg1) {
  const ret = getStringFromWasm0(arg0, arg1);
  return addHeapObject(ret);
}
function __wbindgen_object_clone_ref(arg0) {
  const ret = getObject(arg0);
  return addHeapObject(ret);
}
function __wbindgen_object_drop_ref(arg0) {
  takeObject(arg0);
}
function __wasm_bindgen_func_elem_839(arg0, arg1, arg2, arg3) {
  wasm.__wasm_bindgen_func_elem_839(arg0, arg1, addHeapObject(arg2), addHeapObject(arg3));
}
function __wasm_bindgen_func_elem_837(arg0, arg1, arg2) {
  try {
    const retptr = wasm.__wbindgen_add_to_stack_pointer(-16) >>> 0;
    wasm.__wasm_bindgen_func_elem_837(retptr, arg0, arg1, addHeapObject(arg2));
    var r0 = getDataViewMemory0().getInt32(retptr + 4 * 0, true);
    var r1 = getDataViewMemory0().getInt32(retptr + 4 * 1, true);
    if (r1) {
      throw takeObject(r0);
    }
  } finally {
    wasm.__wbindgen_add_to_stack_pointer(16);
  }
}
var __wbindgen_enum_RequestRedirect = ["follow", "error", "manual"];
function addHeapObject(obj) {
  if (heap_next === heap.length) heap.push(heap.length + 1);
  const idx = heap_next;
  heap_next = heap[idx];
  heap[idx] = obj;
  return idx;
}
var CLOSURE_DTORS = typeof FinalizationRegistry === "undefined" ? { register: () => {
}, unregister: () => {
} } : new FinalizationRegistry((state) => wasm.__wbindgen_export5(state.a, state.b));
function dropObject(idx) {
  if (idx < 1028) return;
  heap[idx] = heap_next;
  heap_next = idx;
}
function getArrayU8FromWasm0(ptr, len) {
  ptr = ptr >>> 0;
  return getUint8ArrayMemory0().subarray(ptr / 1, ptr / 1 + len);
}
var cachedDataViewMemory0 = null;
function getDataViewMemory0() {
  if (cachedDataViewMemory0 === null || cachedDataViewMemory0.buffer.byteLength === 0 || JS_MEMORY && cachedDataViewMemory0.buffer !== wasm.memory.buffer) {
    cachedDataViewMemory0 = new DataView(wasm.memory.buffer);
  }
  return cachedDataViewMemory0;
}
var READ_TEXTS = /* @__PURE__ */ new Map();
function getStringFromWasm0(ptr, len) {
  ptr = ptr >>> 0;
  const mem = getUint8ArrayMemory0();
  if (len > 64) return decodeText(mem.subarray(ptr, ptr + len));
  let h = len;
  for (let i = ptr, end = ptr + len; i < end; i++) h = Math.imul(h, 31) + mem[i] | 0;
  const seen = READ_TEXTS.get(h);
  if (seen !== void 0 && seen.length === len) {
    let i = 0;
    while (i < len && seen.charCodeAt(i) === mem[ptr + i]) i++;
    if (i === len) return seen;
  }
  const s = decodeText(mem.subarray(ptr, ptr + len));
  if (s.length === len) {
    if (READ_TEXTS.size >= 512) READ_TEXTS.clear();
    READ_TEXTS.set(h, s);
  }
  return s;
}
var cachedUint8ArrayMemory0 = null;
function getUint8ArrayMemory0() {
  if (cachedUint8ArrayMemory0 === null || cachedUint8ArrayMemory0.buffer.byteLength === 0 || JS_MEMORY && cachedUint8ArrayMemory0.buffer !== wasm.memory.buffer) {
    cachedUint8ArrayMemory0 = new Uint8Array(wasm.memory.buffer);
  }
  return cachedUint8ArrayMemory0;
}
function getObject(idx) {
  return heap[idx];
}
function handleError(f, args) {
  try {
    return f.apply(this, args);
  } catch (e) {
    wasm.__wbindgen_export4(addHeapObject(e));
  }
}
var heap = new Array(1024).fill(void 0);
heap.push(void 0, null, true, false);
var heap_next = heap.length;
function isLikeNone(x) {
  return x === void 0 || x === null;
}
function makeMutClosure(arg0, arg1, f) {
  const state = { a: arg0, b: arg1, cnt: 1 };
  const real = (...args) => {
    state.cnt++;
    const a = state.a;
    state.a = 0;
    try {
      return f(a, state.b, ...args);
    } finally {
      state.a = a;
      real._wbg_cb_unref();
    }
  };
  real._wbg_cb_unref = () => {
    if (--state.cnt === 0) {
      wasm.__wbindgen_export5(state.a, state.b);
      state.a = 0;
      CLOSURE_DTORS.unregister(state);
    }
  };
  CLOSURE_DTORS.register(real, state, state);
  return real;
}
function passStringToWasm0(arg, malloc, realloc) {
  if (realloc === void 0) {
    const buf = cachedTextEncoder.encode(arg);
    const ptr2 = malloc(buf.length, 1) >>> 0;
    getUint8ArrayMemory0().subarray(ptr2, ptr2 + buf.length).set(buf);
    WASM_VECTOR_LEN = buf.length;
    return ptr2;
  }
  let len = arg.length;
  if (len > 64) {
    const cap = len * 3;
    const at = malloc(cap, 1) >>> 0;
    const { written } = cachedTextEncoder.encodeInto(arg, getUint8ArrayMemory0().subarray(at, at + cap));
    WASM_VECTOR_LEN = written;
    return realloc(at, cap, written, 1) >>> 0;
  }
  let ptr = malloc(len, 1) >>> 0;
  const mem = getUint8ArrayMemory0();
  let offset = 0;
  for (; offset < len; offset++) {
    const code = arg.charCodeAt(offset);
    if (code > 127) break;
    mem[ptr + offset] = code;
  }
  if (offset !== len) {
    if (offset !== 0) {
      arg = arg.slice(offset);
    }
    ptr = realloc(ptr, len, len = offset + arg.length * 3, 1) >>> 0;
    const view = getUint8ArrayMemory0().subarray(ptr + offset, ptr + len);
    const ret = cachedTextEncoder.encodeInto(arg, view);
    offset += ret.written;
    ptr = realloc(ptr, len, offset, 1) >>> 0;
  }
  WASM_VECTOR_LEN = offset;
  return ptr;
}
function takeObject(idx) {
  const ret = getObject(idx);
  dropObject(idx);
  return ret;
}
var cachedTextDecoder = new TextDecoder("utf-8", { ignoreBOM: true });
cachedTextDecoder.decode();
var MAX_SAFARI_DECODE_BYTES = 2146435072;
var numBytesDecoded = 0;
function decodeText(bytes) {
  numBytesDecoded += bytes.length;
  if (numBytesDecoded >= MAX_SAFARI_DECODE_BYTES) {
    cachedTextDecoder = new TextDecoder("utf-8", { ignoreBOM: true });
    cachedTextDecoder.decode();
    numBytesDecoded = bytes.length;
  }
  return cachedTextDecoder.decode(bytes);
}
var cachedTextEncoder = new TextEncoder();
if (!("encodeInto" in cachedTextEncoder)) {
  cachedTextEncoder.encodeInto = function(arg, view) {
    const buf = cachedTextEncoder.encode(arg);
    view.set(buf);
    return {
      read: arg.length,
      written: buf.length
    };
  };
}
var WASM_VECTOR_LEN = 0;
var wasm;
function __wbg_set_wasm(val) {
  wasm = val;
}
var JS_MEMORY = false;
function __erpNewInstance(jsMemory) {
  JS_MEMORY = jsMemory;
  cachedDataViewMemory0 = null;
  cachedUint8ArrayMemory0 = null;
}

// js-shim/platform.js
var hasStreams = () => typeof TransformStream === "function";
function randomHex() {
  const bytes = new Uint8Array(16);
  if (typeof crypto === "object" && crypto && typeof crypto.getRandomValues === "function") crypto.getRandomValues(bytes);
  else for (let i = 0; i < bytes.length; i++) bytes[i] = Math.floor(Math.random() * 256);
  return [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
}
var STRICT_UTF8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
function framedWithin(headers, limit) {
  if (!headers || typeof headers.get !== "function") return false;
  const len = headers.get("content-length");
  if (len === null || !/^[0-9]{1,10}$/.test(len) || Number(len) > limit) return false;
  const coding = headers.get("content-encoding");
  return coding === null || coding === "" || coding.toLowerCase() === "identity";
}
function makePlatform({ fetchImpl, cache, waitUntil, settle = (p) => Promise.resolve(p) }) {
  const background = (promise, what) => {
    const p = Promise.resolve(promise).catch((e) => console.log(`cache: ${what} failed: ${e && e.message}`));
    if (waitUntil) {
      try {
        waitUntil(p);
      } catch (e) {
        console.log(`cache: waitUntil refused: ${e && e.message}`);
      }
    }
  };
  return {
    settle,
    // `init` is made by the core (method, headers, redirect: 'manual'); the Response goes back.
    fetch(url, init) {
      return fetchImpl(url, init);
    },
    // Reads a token answer, a form or a manifest; never a layer. Stops at `limit` bytes. A body
    // whose framing bounds it (Content-Length, not decoded by fetch) is read in one call.
    async readBytes(handle3, limit) {
      if (!handle3.body) return new Uint8Array(0);
      if (typeof handle3.arrayBuffer === "function" && framedWithin(handle3.headers, limit)) {
        const all2 = new Uint8Array(await handle3.arrayBuffer());
        if (all2.byteLength > limit) throw new Error(`body larger than ${limit} bytes`);
        return all2;
      }
      const reader = handle3.body.getReader();
      const chunks = [];
      let size = 0;
      for (; ; ) {
        const { done, value } = await reader.read();
        if (done) break;
        size += value.byteLength;
        if (size > limit) {
          await reader.cancel();
          throw new Error(`body larger than ${limit} bytes`);
        }
        chunks.push(value);
      }
      const all = new Uint8Array(size);
      let at = 0;
      for (const c of chunks) {
        all.set(c, at);
        at += c.byteLength;
      }
      return all;
    },
    // Text for the core (token answers, forms): strict UTF-8, a byte order mark kept (as Rust's
    // from_utf8 would), so the core sees exactly the bytes.
    async readText(handle3, limit) {
      return STRICT_UTF8.decode(await this.readBytes(handle3, limit));
    },
    async cacheGet(key) {
      if (!cache) return null;
      try {
        const hit = await cache.get(key);
        return hit || null;
      } catch (e) {
        console.log(`cache: get failed: ${e && e.message}`);
        return null;
      }
    },
    // A small, verified body the core made into a Response.
    cachePut(key, response) {
      if (!cache) return;
      try {
        background(cache.put(key, response), "put");
      } catch (e) {
        console.log(`cache: put failed: ${e && e.message}`);
      }
    },
    cachePutStream(key, headers, handle3, expectedLen, commitKey, commitValue) {
      if (!cache || !handle3.body || !hasStreams() || typeof handle3.body.tee !== "function") return handle3;
      try {
        return putStream(key, headers, handle3, expectedLen, commitKey, commitValue);
      } catch (e) {
        console.log(`cache: layer not stored: ${e && e.message}`);
        return handle3.body.locked ? { body: null } : handle3;
      }
    },
    // One body of parts read in order (`concat` in src/platform.rs): bytes, open bodies, and
    // locations fetched only when the reader reaches them (no credentials: a CDN's signed URL),
    // so one layer is in flight at a time. A part of another length, or one that fails, errors
    // the stream: the client sees a cut transfer against the Content-Length, never a short whole.
    // Never throws: without streams the body is null and the client sees the cut at once.
    concat(parts, total) {
      if (!hasStreams()) return { body: null };
      try {
        const body = concatenated(parts, fetchImpl);
        return { body: fixedLength(body, total)?.body ?? body };
      } catch (e) {
        console.log(`archive: not streamed: ${e && e.message}`);
        return { body: null };
      }
    },
    randomId() {
      try {
        if (typeof crypto === "object" && crypto && typeof crypto.randomUUID === "function") return crypto.randomUUID();
      } catch {
      }
      return randomHex();
    },
    // Bytes first..=last of a stored body, as a stream; null where the runtime cannot cut
    // streams (the core then asks the upstream for the range).
    slice(handle3, first, last) {
      if (!hasStreams() || !handle3.body) return null;
      try {
        let pos = 0;
        const cut = new TransformStream({
          transform(chunk, ctl) {
            const start2 = pos;
            pos += chunk.byteLength;
            if (pos <= first || start2 > last) return;
            ctl.enqueue(chunk.subarray(Math.max(first - start2, 0), Math.min(last + 1 - start2, chunk.byteLength)));
          }
        });
        return { body: handle3.body.pipeThrough(cut) };
      } catch (e) {
        console.log(`cache: range not cut: ${e && e.message}`);
        return null;
      }
    },
    // `name\nvalue\n` for every header: one string for the core to split (HTTP forbids line
    // breaks in names and values).
    headerLines(headers) {
      let text = "";
      for (const [name, value] of headers) text += `${name}
${value}
`;
      return text;
    },
    log(line) {
      try {
        console.log(line);
      } catch {
      }
    }
  };
  function putStream(key, headers, handle3, expectedLen, commitKey, commitValue) {
    const [toClient, toCache] = split(handle3.body, expectedLen);
    const { body: checked, whole } = exactly(toCache, expectedLen);
    const marker = headers.get("cache-control");
    const markerHeaders = marker === null ? {} : { "cache-control": marker };
    const put = cache.put(key, new Response(checked, { status: 200, headers })).then(async () => {
      if (!await whole) throw new Error("body incomplete");
      return cache.put(commitKey, new Response(commitValue, { status: 200, headers: markerHeaders }));
    }).catch((e) => {
      console.log(`cache: layer not stored: ${e && e.message}`);
      return cache.delete ? cache.delete(key) : void 0;
    });
    background(put, "put");
    return { body: toClient };
  }
}
function concatenated(parts, fetchImpl) {
  let next = 0;
  let reader = null;
  let left = 0;
  return new ReadableStream({
    async pull(ctl) {
      for (; ; ) {
        if (reader) {
          const { done, value } = await reader.read();
          if (done) {
            if (left !== 0) throw new Error(`part ${next} ended ${left} bytes short`);
            reader = null;
            continue;
          }
          left -= value.byteLength;
          if (left < 0) throw new Error(`part ${next} is longer than announced`);
          ctl.enqueue(value);
          return;
        }
        if (next >= parts.length) {
          ctl.close();
          return;
        }
        const part = parts[next++];
        if (part instanceof Uint8Array) {
          if (part.byteLength === 0) continue;
          ctl.enqueue(part);
          return;
        }
        let source = part.handle;
        if (!source) {
          source = await fetchImpl(part.url, { method: "GET", redirect: "follow" });
          if (source.status !== 200) throw new Error(`part ${next} answered ${source.status}`);
        }
        if (!source.body) throw new Error(`part ${next} has no body`);
        reader = source.body.getReader();
        left = part.len;
      }
    },
    cancel(reason) {
      return reader ? reader.cancel(reason) : void 0;
    }
  });
}
var LOCKSTEP_MIN_BYTES = 8 * 1024 * 1024;
function split(body, len) {
  if (len < LOCKSTEP_MIN_BYTES) return body.tee();
  const a = new TransformStream();
  const b = new TransformStream();
  lockstep(body, a.writable.getWriter(), b.writable.getWriter());
  return [a.readable, b.readable];
}
async function lockstep(source, ...writers) {
  const reader = source.getReader();
  const live = new Set(writers);
  const drop = (w) => () => live.delete(w);
  try {
    for (; ; ) {
      await Promise.all([...live].map((w) => w.ready.catch(drop(w))));
      if (live.size === 0) {
        await reader.cancel();
        return;
      }
      const { done, value } = await reader.read();
      if (done) break;
      for (const w of live) w.write(value).catch(drop(w));
    }
    for (const w of live) w.close().catch(drop(w));
  } catch (e) {
    for (const w of live) w.abort(e).catch(() => {
    });
  }
}
function fixedLength(body, len) {
  if (typeof FixedLengthStream !== "function") return null;
  const fixed = new FixedLengthStream(len);
  const whole = body.pipeTo(fixed.writable).then(
    () => true,
    () => false
  );
  return { body: fixed.readable, whole };
}
function exactly(body, len) {
  const fixed = fixedLength(body, len);
  if (fixed) return fixed;
  let seen = 0;
  let settle;
  const whole = new Promise((r) => settle = r);
  const counted = body.pipeThrough(
    new TransformStream({
      transform(chunk, ctl) {
        seen += chunk.byteLength;
        ctl.enqueue(chunk);
      },
      flush(ctl) {
        settle(seen === len);
        if (seen !== len) ctl.error(new Error(`incomplete body: ${seen} of ${len} bytes`));
      }
    })
  );
  return { body: counted, whole };
}

// js-shim/proxy.js
function configPairs(...sources) {
  const pairs = [];
  for (const src of sources) {
    if (!src || typeof src !== "object") continue;
    for (const [k, v] of Object.entries(src)) pairs.push([k, v]);
  }
  return pairs;
}
function errorResponse(status, code, message) {
  return new Response(JSON.stringify({ errors: [{ code, message }] }), {
    status,
    headers: {
      "content-type": "application/json; charset=utf-8",
      "docker-distribution-api-version": "registry/2.0"
    }
  });
}
function pathOf(url) {
  const start2 = url.indexOf("/", url.indexOf("//") + 2);
  if (start2 < 0) return "/";
  const end = url.slice(start2).search(/[?#]/);
  return end < 0 ? url.slice(start2) : url.slice(start2, start2 + end);
}
function createProxy(instantiate) {
  let current = null;
  const retire = (inst, why) => {
    if (!inst || inst.dead) return;
    inst.dead = true;
    if (current === inst) current = null;
    const failed = new Error(`the registry proxy's instance was replaced: ${why}`);
    for (const fail of inst.inflight) fail(failed);
    inst.inflight.clear();
    inst.waiting.clear();
  };
  globalThis.__edgeRegistryProxyPanic = (message) => retire(current, message);
  function ensureInstance() {
    if (current) return current;
    const inst = newInstance();
    const made = instantiate({
      "./proxy_bg.js": guardedImports(inst, (e) => {
        console.error("edge-registry-proxy: the executor stopped:", e && e.stack ? e.stack : e);
        retire(inst, "the executor stopped");
      })
    });
    __wbg_set_wasm(made.exports);
    __erpNewInstance(made.engine === "wasm2js");
    made.exports.__wbindgen_start();
    inst.engine = made.engine;
    current = inst;
    lastSources = null;
    return inst;
  }
  let lastSources = null;
  function configFor(sources) {
    const same = lastSources && lastSources.length === sources.length && sources.every((s, i) => s === lastSources[i]);
    if (same) return null;
    lastSources = sources;
    return configPairs(...sources);
  }
  try {
    ensureInstance();
  } catch (e) {
    console.error("edge-registry-proxy: instantiation at load failed, retrying per request:", e && e.message);
  }
  async function handle3(request, configSources, { cache = null, waitUntil = null, fetchImpl = fetch } = {}) {
    let inst = null;
    let answer;
    try {
      inst = ensureInstance();
      inst.clock = Date.now();
      if (inst.waiting.size && inst.clock - inst.swept > 1e3) sweep(inst);
      answer = handle(request, configFor(configSources), makePlatform({ fetchImpl, cache, waitUntil, settle: inst.settle }));
    } catch (e) {
      console.error("edge-registry-proxy: request failed:", e && e.stack ? e.stack : e);
      retire(inst, "a request failed in it");
      return errorResponse(500, "UNKNOWN", "internal error in the registry proxy");
    }
    try {
      const out = await inFlight(inst, answer);
      if (pathOf(request.url) === "/version") out.headers.set("x-proxy-engine", inst.engine);
      return out;
    } catch (e) {
      console.error("edge-registry-proxy: request failed:", e && e.stack ? e.stack : e);
      return errorResponse(500, "UNKNOWN", "internal error in the registry proxy");
    }
  }
  return handle3;
}
var MAX_WAIT_MS = 18e4;
function newInstance() {
  const inst = { engine: null, dead: false, clock: 0, swept: 0, inflight: /* @__PURE__ */ new Set(), waiting: /* @__PURE__ */ new Set() };
  inst.settle = (promise) => new Promise((resolve, reject) => {
    const wait = { since: inst.clock, reject };
    inst.waiting.add(wait);
    Promise.resolve(promise).then(
      (v) => {
        if (inst.waiting.delete(wait)) resolve(v);
      },
      (e) => {
        if (inst.waiting.delete(wait)) reject(e);
      }
    );
  });
  return inst;
}
function sweep(inst) {
  inst.swept = inst.clock;
  for (const wait of inst.waiting) {
    if (inst.clock - wait.since <= MAX_WAIT_MS) continue;
    inst.waiting.delete(wait);
    wait.reject(new Error(`the runtime never settled this await (over ${MAX_WAIT_MS / 1e3} s)`));
  }
}
function inFlight(inst, answer) {
  return new Promise((resolve, reject) => {
    inst.inflight.add(reject);
    answer.then(
      (out) => {
        inst.inflight.delete(reject);
        resolve(out);
      },
      (e) => {
        inst.inflight.delete(reject);
        reject(e);
      }
    );
  });
}
var RESOLVED = Promise.resolve();
function guardedImports(inst, onEscape) {
  const imports = { ...proxy_bg_exports };
  const names = Object.keys(proxy_bg_exports).filter((name) => name.startsWith("__wbg_queueMicrotask_"));
  if (names.length !== 2) throw new Error(`expected the executor's 2 queueMicrotask imports in the glue, found ${names.length}; update js-shim/proxy.js`);
  let slot = null;
  let run = null;
  for (const name of names) {
    imports[name] = (arg) => {
      if (arg === slot) {
        RESOLVED.then(run);
        return void 0;
      }
      let closure = null;
      const own = Object.getOwnPropertyDescriptor(globalThis, "queueMicrotask");
      globalThis.queueMicrotask = (f) => {
        closure = f;
      };
      let ret;
      try {
        ret = proxy_bg_exports[name](arg);
      } finally {
        if (own) Object.defineProperty(globalThis, "queueMicrotask", own);
        else delete globalThis.queueMicrotask;
      }
      if (typeof closure === "function") {
        slot = arg;
        run = () => {
          if (inst.dead) return;
          try {
            closure();
          } catch (e) {
            onEscape(e);
          }
        };
        RESOLVED.then(run);
      }
      return ret;
    };
  }
  return imports;
}
var WARM_UP = "https://warm-up.invalid";
var WARM_UP_CHALLENGE = `Bearer realm="${WARM_UP}/token",service="warm-up"`;
async function warmUpFetch(url, { bodies = true } = {}) {
  const json = (status, body, headers = {}) => new Response(bodies ? JSON.stringify(body) : null, { status, headers: { "content-type": "application/json", ...headers } });
  if (url.endsWith("/v2/")) return json(401, { errors: [] }, { "www-authenticate": WARM_UP_CHALLENGE });
  if (url.includes("/token")) return json(200, { token: "warm-up", expires_in: 60 });
  return json(200, { schemaVersion: 2, mediaType: "application/vnd.oci.image.index.v1+json", manifests: [] }, { "content-type": "application/vnd.oci.image.index.v1+json" });
}
async function warmUp(handle3, { bodies = true, light = false } = {}) {
  const config = [{ UPSTREAM: WARM_UP.slice(8), LOG: "off", ...bodies ? { TOKEN_SECRET: "warm-up-secret-0123456789abcdef0" } : {} }];
  const fetchImpl = (url) => warmUpFetch(url, { bodies });
  const ask = (path, headers = {}, method = "GET") => handle3(new Request(`http://warm-up.local${path}`, { method, headers }), config, { fetchImpl });
  const accept = "application/vnd.oci.image.index.v1+json";
  try {
    if (light) return;
    if (!bodies) {
      const auth2 = { authorization: "Bearer warm-up", accept };
      for (const [method, path, headers] of [["HEAD", "/v2/", {}], ["HEAD", "/v2/library/warm/manifests/latest", auth2], ["GET", "/v2/library/warm/manifests/latest", auth2]]) {
        const r = await ask(path, headers, method);
        if (r.status >= 500) throw new Error(`${method} ${path}: ${r.status}`);
      }
      return;
    }
    const t = await (await ask("/token?scope=repository:library/warm:pull")).json();
    const auth = { authorization: `Bearer ${t.token}`, accept };
    await (await ask("/v2/library/warm/manifests/latest", auth)).arrayBuffer();
  } catch (e) {
    console.log(`edge-registry-proxy: warm-up skipped: ${e && e.message}`);
  }
}

// cloudflare/worker.js
var handle2 = createProxy((imports) => ({
  exports: new WebAssembly.Instance(wasmModule, imports).exports,
  engine: "wasm"
}));
warmUp(handle2, { bodies: false });
function zoneCache(request) {
  if (typeof caches === "undefined" || !caches.default) return null;
  let base = null;
  const at = (key) => {
    base ??= `${new URL(request.url).origin}/.edge-registry-proxy-cache`;
    const k = new URL(key);
    return base + k.pathname + k.search;
  };
  return {
    get: (key) => caches.default.match(at(key)),
    put: (key, response) => caches.default.put(at(key), response),
    delete: (key) => caches.default.delete(at(key))
  };
}
var worker_default = {
  fetch(request, env, ctx) {
    return handle2(request, [env], { cache: zoneCache(request), waitUntil: (p) => ctx.waitUntil(p) });
  }
};
export {
  worker_default as default
};
