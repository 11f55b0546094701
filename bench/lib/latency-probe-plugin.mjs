// Troupe plugin for the latency bench: a no-op that returns the moment it started, as wall-clock
// ms with µs resolution, comparable with the producer's and the supervisor's stamps.
export default {
  name: 'latency-probe',
  description: 'returns { t }: when the processor started the job (performance.timeOrigin + performance.now())',
  run() {
    return { t: performance.timeOrigin + performance.now() };
  },
};
