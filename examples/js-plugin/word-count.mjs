// A Troupe plugin: a plain ES module whose default export is a processor. It imports nothing
// from troupe. Run it with:  npx troupe supervise --queues text --plugin ./word-count.mjs
export default {
  // Jobs select this processor by name: queue.enqueue('word-count', { text: '...' })
  name: 'word-count',
  description: '{ text, top? }: counts words and lists the most frequent ones',
  // A default time limit for each job (a job's own timeoutMs overrides it).
  timeoutMs: 10_000,

  // Runs before run(). Return a message (or throw) to refuse the input: the job goes to the
  // dead-letter queue at once with that message, instead of failing on every retry.
  validate(input) {
    if (typeof input?.text !== 'string') return 'word-count: data.text must be a string, e.g. { "text": "to be or not to be" }';
    if (input.top !== undefined && !(Number.isInteger(input.top) && input.top > 0)) return 'word-count: data.top must be a whole number above 0';
  },

  async run(input, ctx) {
    const words = input.text.toLowerCase().match(/[\p{L}\p{N}']+/gu) ?? [];
    const counts = new Map();
    for (let i = 0; i < words.length; i++) {
      counts.set(words[i], (counts.get(words[i]) ?? 0) + 1);
      // Long inputs: give the time limit a chance to stop the job, and report progress.
      if (i % 100_000 === 99_999) {
        ctx.signal.throwIfAborted();
        ctx.progress({ counted: i + 1, of: words.length });
        await new Promise((resolve) => setImmediate(resolve));
      }
    }
    if (words.length === 0) {
      // An error with unrecoverable: true skips the retries (troupe's UnrecoverableError does the same).
      throw Object.assign(new Error('word-count: the text has no words'), { unrecoverable: true });
    }
    const top = [...counts].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).slice(0, input.top ?? 3);
    ctx.log.info('counted', { words: words.length, distinct: counts.size });
    return { words: words.length, distinct: counts.size, top: top.map(([word, count]) => ({ word, count })) };
  },
};
