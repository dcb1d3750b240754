// Every package must load with require() from CommonJS too (campus gateways still on CJS).
const assert = require('node:assert/strict');

assert.equal(typeof require('@jobe-balancer/client').JobeClient, 'function');
assert.equal(typeof require('@jobe-balancer/core').createBalancer, 'function');
assert.equal(typeof require('@jobe-balancer/core/heap-settings').tuneHeapForGateway, 'function');
assert.equal(typeof require('@jobe-balancer/express').jobeBalancer, 'function');
assert.equal(typeof require('@jobe-balancer/fastify').jobeBalancer, 'function');
assert.equal(typeof require('@jobe-balancer/koa').jobeBalancer, 'function');
assert.equal(typeof require('@jobe-balancer/jobe-sim').startJobeSim, 'function');
assert.equal(typeof require('jobe-balancer').loadConfig, 'function');
console.log('CJS requires OK');
