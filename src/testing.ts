// `procreg/testing`: a deterministic simulated shell, to test a supervisor's behaviour in
// virtual time — no processes, no clock, reproducible from a seed.
export { mulberry32, World, type WorldOptions } from './sim/world.js';
