import { createOcrEngine, type OcrEngine } from './engine.js';
import type { OcrEngineChoice } from '../config/index.js';

/**
 * Up to `size` OCR engines shared by a worker's concurrent page activities. tesseract.js engines
 * are worker threads that take a second to start, so they are kept and reused.
 */
export class OcrEnginePool {
  private readonly idle: OcrEngine[] = [];
  private created = 0;
  private readonly waiting: ((engine: OcrEngine | undefined) => void)[] = [];

  constructor(
    private readonly kind: OcrEngineChoice,
    private readonly size: number,
  ) {}

  async use<T>(work: (engine: OcrEngine) => Promise<T>): Promise<T> {
    const engine = await this.acquire();
    let healthy = true;
    try {
      return await work(engine);
    } catch (error) {
      // An engine whose recognize call failed (aborted, crashed) may be left in a bad state.
      healthy = false;
      throw error;
    } finally {
      if (healthy) this.release(engine);
      else await this.discard(engine);
    }
  }

  async close(): Promise<void> {
    await Promise.all(this.idle.splice(0).map((engine) => engine.close()));
  }

  private async acquire(): Promise<OcrEngine> {
    const engine = this.idle.pop();
    if (engine) return engine;
    if (this.created < this.size) {
      this.created++;
      try {
        return await createOcrEngine(this.kind);
      } catch (error) {
        this.created--;
        throw error;
      }
    }
    const handedOver = await new Promise<OcrEngine | undefined>((resolve) => this.waiting.push(resolve));
    return handedOver ?? this.acquire();
  }

  private release(engine: OcrEngine): void {
    const next = this.waiting.shift();
    if (next) next(engine);
    else this.idle.push(engine);
  }

  private async discard(engine: OcrEngine): Promise<void> {
    this.created--;
    await engine.close().catch(() => {});
    // A waiter can now create a fresh engine in its place.
    this.waiting.shift()?.(undefined);
  }
}
