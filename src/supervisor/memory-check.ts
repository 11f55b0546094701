/**
 * Redis under memory pressure, as the supervisor sees it. At start: a Redis that may evict keys
 * (maxmemory-policy other than noeviction) is refused unless --allow-evicting-redis, since
 * eviction deletes accepted jobs without a trace. While running: the policy and fill level of
 * every master are read each heartbeat, for /health, /ready and /status.
 */
import {
  describeEviction,
  EVICTION_FIX,
  evictingNodes,
  fullNodes,
  readMemory,
  type NodeMemory,
} from '../queue/redis-memory.js';
import type { RedisClient } from '../queue/connection.js';
import { ConfigError } from './config.js';
import type { Logger } from './logger.js';
import { Periodic } from './timers.js';

export interface MemoryReport {
  nodes: NodeMemory[];
  /** Sentence naming evicting nodes, when any. */
  eviction?: string;
  evictionAllowed: boolean;
  /** Sentence naming nodes at maxmemory (noeviction: writes refused), when any. */
  full?: string;
  checkedAt: number;
}

const mb = (bytes: number) => `${Math.round(bytes / 1048576)} MiB`;

export class MemoryCheck {
  private latest: MemoryReport | undefined;
  private readonly periodic: Periodic;
  private warnedEviction = false;

  constructor(
    private readonly redis: RedisClient,
    private readonly logger: Logger,
    private readonly allowEvicting: boolean,
    heartbeatMs: number,
  ) {
    this.periodic = new Periodic(heartbeatMs, () => this.refresh().then(() => undefined));
  }

  get report(): MemoryReport | undefined {
    return this.latest;
  }

  /** Throws a ConfigError (exit 2) for an evicting Redis unless allowed. An INFO the ACL refuses is logged and skipped. */
  async atStart(): Promise<void> {
    const report = await this.refresh();
    if (!report) return;
    if (report.eviction && !this.allowEvicting) {
      throw new ConfigError(`Redis may delete jobs: ${report.eviction}; ${EVICTION_FIX}, or start with --allow-evicting-redis (TROUPE_ALLOW_EVICTING_REDIS=1) to accept that risk`);
    }
  }

  start(): void {
    this.periodic.start();
  }

  stop(): Promise<void> {
    return this.periodic.stop();
  }

  async refresh(): Promise<MemoryReport | undefined> {
    let nodes: NodeMemory[];
    try {
      nodes = await readMemory(this.redis);
    } catch (err) {
      if (!this.latest) this.logger.warn({ err }, 'cannot read Redis memory settings (INFO memory); the eviction-policy check is skipped');
      return this.latest;
    }
    const evicting = evictingNodes(nodes);
    const full = fullNodes(nodes).filter((n) => n.policy === 'noeviction');
    const report: MemoryReport = {
      nodes,
      evictionAllowed: this.allowEvicting,
      checkedAt: Date.now(),
      ...(evicting.length > 0 ? { eviction: describeEviction(evicting) } : {}),
      ...(full.length > 0 ? { full: full.map((n) => `${n.node} is at its maxmemory (${mb(n.used)} of ${mb(n.maxmemory)})`).join('; ') } : {}),
    };
    if (report.eviction && this.allowEvicting && !this.warnedEviction) {
      this.warnedEviction = true;
      this.logger.warn({ eviction: report.eviction }, `Redis may delete jobs (allowed by --allow-evicting-redis): ${report.eviction}`);
    }
    this.latest = report;
    return report;
  }
}
