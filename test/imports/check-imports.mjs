// Every package must import from ESM with its public entry points (run after the build).
import assert from 'node:assert/strict';
import * as client from '@jobe-balancer/client';
import * as core from '@jobe-balancer/core';
import * as heapSettings from '@jobe-balancer/core/heap-settings';
import * as express from '@jobe-balancer/express';
import * as fastify from '@jobe-balancer/fastify';
import * as sim from '@jobe-balancer/jobe-sim';
import * as koa from '@jobe-balancer/koa';
import * as cli from 'jobe-balancer';

assert.equal(typeof client.JobeClient, 'function');
assert.equal(typeof core.createBalancer, 'function');
assert.equal(typeof heapSettings.tuneHeapForGateway, 'function');
assert.equal(typeof express.jobeBalancer, 'function');
assert.equal(typeof fastify.jobeBalancer, 'function');
assert.equal(typeof koa.jobeBalancer, 'function');
assert.equal(typeof sim.startJobeSim, 'function');
assert.equal(typeof cli.loadConfig, 'function');
console.log('ESM imports OK');
