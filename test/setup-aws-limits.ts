// R-ING-7: every test talks to the emulators as if to AWS, limits included (see support/aws-limits.ts).
import { installAwsLimits } from './support/aws-limits';

installAwsLimits();
