// Part of the compiled CLI only (bin/build.mjs bundles it; the TypeScript never uses it): loads just
// the command that runs. bin/build.mjs rewrites src/cli/main.ts's `import { xCommand } from
// './commands/x.js'` lines into one call of lazyCommandFactories(), which hands main.ts the same
// factories: the real one for the command named on the command line, and for every other command a
// stand-in with the same name, aliases, description, options and arguments (all that `clerk --help`
// and commander's "did you mean" read), taken from commands.json, which the build writes by loading
// every real command once. So `clerk --help` loads no command module, and `clerk status` loads only
// status's (and what it imports), instead of every dependency of every command.
import fs from 'node:fs';
import { Command, Option } from 'commander';

const manifestUrl = new URL('./commands.json', import.meta.url);

/** @param {Record<string, () => Promise<Record<string, unknown>>>} loaders factory name -> its module */
export async function lazyCommandFactories(loaders) {
  const names = Object.keys(loaders);
  const real = async (name) => (await loaders[name]())[name];
  const dumpTo = process.env.CLERK_CLI_DUMP_COMMANDS;
  const manifest = dumpTo ? undefined : readManifest();
  const invoked = invokedCommand(process.argv.slice(2));
  const factories = {};
  await Promise.all(
    names.map(async (name) => {
      const entry = manifest?.[name];
      if (!entry || invoked === undefined || entry.name === invoked || entry.aliases.includes(invoked)) factories[name] = await real(name);
      else factories[name] = () => stub(entry);
    }),
  );
  if (dumpTo) {
    const dump = Object.fromEntries(names.map((name) => [name, describe(factories[name]())]));
    fs.writeFileSync(dumpTo, `${JSON.stringify(dump, null, 2)}\n`);
    process.exit(0);
  }
  return factories;
}

/**
 * The command the arguments run: '' when none (program help), undefined when unsure (an unknown
 * program option), so that every real command loads and commander answers exactly as it would.
 */
function invokedCommand(args) {
  const [first, second] = args;
  if (first === undefined || first === '-h' || first === '--help') return '';
  if (first.startsWith('-')) return undefined;
  if (first === 'help') return second ?? '';
  return first;
}

function readManifest() {
  try {
    return JSON.parse(fs.readFileSync(manifestUrl, 'utf8'));
  } catch {
    return undefined;
  }
}

/** What the program's help and suggestions read of a top-level command. */
function describe(command) {
  return {
    name: command.name(),
    aliases: command.aliases(),
    description: command.description(),
    summary: command.summary(),
    options: command.options.map((option) => ({ flags: option.flags, description: option.description, hidden: option.hidden })),
    arguments: command.registeredArguments.map((argument) => ({ name: argument.name(), required: argument.required, variadic: argument.variadic, description: argument.description })),
  };
}

function stub(entry) {
  const command = new Command(entry.name).description(entry.description);
  if (entry.summary) command.summary(entry.summary);
  if (entry.aliases.length > 0) command.aliases(entry.aliases);
  for (const option of entry.options) command.addOption(new Option(option.flags, option.description).hideHelp(option.hidden));
  for (const argument of entry.arguments) {
    const name = `${argument.name}${argument.variadic ? '...' : ''}`;
    command.argument(argument.required ? `<${name}>` : `[${name}]`, argument.description);
  }
  return command.action(() => {
    throw new Error(`internal: the stand-in for \`${entry.name}\` ran; run with CLERK_CLI=tsx and report this`);
  });
}
