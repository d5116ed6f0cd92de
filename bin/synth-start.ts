// Imported by bin/app.ts before the app's own modules: the stamp of an earlier synthesis goes first
// thing, so an app that fails even while loading leaves no stamp behind (lib/synth-stamp.ts).
import { forgetLastSynthesis } from '../lib/synth-stamp';

forgetLastSynthesis(process.env.CDK_OUTDIR);
