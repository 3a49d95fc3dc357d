// A demo service that crashes now and then: it runs for 0.5-3 s, then exits with code 1.
const lifeMs = 500 + Math.floor(Math.random() * 2500);
console.log(`up, will crash in ${lifeMs} ms`);
setTimeout(() => {
  console.error('crashing');
  process.exit(1);
}, lifeMs);
