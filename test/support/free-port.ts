// The benchmarks' helper: tests and benchmarks start their own servers on a free loopback port.
export { freePort } from '../../bench/util.js';
