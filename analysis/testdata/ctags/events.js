'use strict';

const EventEmitter = require('events');
const DEFAULT_LIMIT = 10;
let instances = 0;

function Emitter(options) {
  this.limit = (options && options.limit) || DEFAULT_LIMIT;
  instances++;
}

Emitter.prototype.on = function on(name, listener) {
  (this.listeners[name] = this.listeners[name] || []).push(listener);
  return this;
};

Emitter.prototype.off = function (name, listener) {
  const list = this.listeners[name] || [];
  this.listeners[name] = list.filter((l) => l !== listener);
  return this;
};

Emitter.prototype.emit = (name) => name;

Emitter.create = function create(options) {
  return new Emitter(options);
};

function* ids() {
  let i = 0;
  while (true) yield i++;
}

const helper = function () {
  return instances;
};

const arrow = (a, b) => a + b;

class Queue extends EventEmitter {
  static count = 0;
  #items = [];
  size = 0;

  constructor(limit) {
    super();
    this.limit = limit;
  }

  get length() {
    return this.#items.length;
  }

  set length(n) {
    this.#items.length = n;
  }

  push(item) {
    this.#items.push(item);
    this.emit('push', item);
  }

  [Symbol.iterator]() {
    return this.#items[Symbol.iterator]();
  }

  ['computed' + 'Name']() {
    return 1;
  }

  static from(items) {
    const q = new Queue(items.length);
    items.forEach((i) => q.push(i));
    return q;
  }

  async drain() {
    while (this.length) await this.pop();
  }

  *entries() {
    yield* this.#items;
  }
}

const Stack = class {
  peek() {
    return this.top;
  }
};

exports.parse = function parse(text) {
  return JSON.parse(text);
};

exports.stringify = (value) => JSON.stringify(value);

module.exports.Emitter = Emitter;

module.exports.version = '1.0.0';

module.exports.format = function format(value) {
  return String(value);
};

var legacy = 1, other = 2;

async function main() {
  const q = Queue.from([1, 2, 3]);
  for (const x of q) helper(x, arrow, ids, Stack, legacy, other);
}

main();
