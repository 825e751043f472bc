// Headers cross the wasm boundary as one text, `name:value` lines each ended by `\n` (the core's
// `Headers::to_text`/`from_text`): one string per direction instead of an array and two strings
// per header. Runtimes' Headers hold no newline in a name or value, and no colon in a name.

export function headerText(headers) {
  let text = '';
  for (const [k, v] of headers) text += `${k}:${v}\n`;
  return text;
}

// Only `names` (lowercase), each with one get: walking a runtime's Headers costs an entry array
// per header (and a sort in Node's); the core reads a handful of a client's headers.
export function namedHeaderText(headers, names) {
  let text = '';
  for (const name of names) {
    const v = headers.get(name);
    if (v !== null) text += `${name}:${v}\n`;
  }
  return text;
}

// `[[name, value], ...]`, for a Headers, Request or Response constructor: built in JS, then
// handed to the runtime in one call (an append per header is one call into the runtime each,
// which costs more in workerd than the whole array).
export function headersFromText(text) {
  const pairs = [];
  for (let at = 0; at < text.length; ) {
    let end = text.indexOf('\n', at);
    if (end < 0) end = text.length;
    const colon = text.indexOf(':', at);
    if (colon > at && colon < end) pairs.push([text.slice(at, colon), text.slice(colon + 1, end)]);
    at = end + 1;
  }
  return pairs;
}
